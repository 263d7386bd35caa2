"""setup_integrations()/teardown_integrations() and the post-import hook, in process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from agentops.integrations import (
    DidNotEnable,
    setup_integrations,
    teardown_integrations,
)
from agentops.integrations._hook import forget, when_imported


@pytest.fixture
def package_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("agentops_hook_probe")]:
            del sys.modules[name]


def test_a_module_imported_later_is_handed_to_the_callback_once_loaded(
    package_dir: Path,
) -> None:
    (package_dir / "agentops_hook_probe").mkdir()
    (package_dir / "agentops_hook_probe" / "__init__.py").write_text("VALUE = 42\n")
    seen: list[int] = []

    def callback(module: ModuleType) -> None:
        seen.append(module.VALUE)

    when_imported("agentops_hook_probe", callback)
    try:
        import agentops_hook_probe  # type: ignore[import-not-found]

        assert seen == [42]
        # the real loader is back in place: nothing of the hook stays on the module
        import importlib.machinery

        loader = agentops_hook_probe.__spec__.loader
        assert isinstance(loader, importlib.machinery.SourceFileLoader)
        assert isinstance(agentops_hook_probe.__loader__, importlib.machinery.SourceFileLoader)
        when_imported("agentops_hook_probe", callback)  # already imported: called at once
        assert seen == [42, 42]
    finally:
        forget("agentops_hook_probe")
    assert not any(type(f).__name__ == "PostImportFinder" for f in sys.meta_path)


def test_forgotten_modules_are_not_handed_over(package_dir: Path) -> None:
    (package_dir / "agentops_hook_probe2.py").write_text("VALUE = 1\n")
    seen: list[ModuleType] = []
    when_imported("agentops_hook_probe2", seen.append)
    forget("agentops_hook_probe2")
    import agentops_hook_probe2  # type: ignore[import-not-found]  # noqa: F401

    assert seen == []


def test_requested_integrations_that_cannot_work_raise_did_not_enable() -> None:
    try:
        with pytest.raises(DidNotEnable):
            setup_integrations(integrations=["cohere"])  # we have no such integration
    finally:
        teardown_integrations()


def test_auto_setup_patches_installed_libraries_and_teardown_restores_them() -> None:
    from openai.resources.chat.completions import Completions

    teardown_integrations()  # whatever an earlier test in this process set up
    original = Completions.create
    try:
        enabled = setup_integrations()
        assert sorted(enabled) == ["anthropic", "litellm", "openai"]
        assert Completions.create is not original
        assert getattr(Completions.create, "__agentops_original__", None) is original
        assert setup_integrations() == enabled  # idempotent: nothing patched twice
        assert Completions.create.__agentops_original__ is original  # type: ignore[attr-defined]
    finally:
        teardown_integrations()
    assert Completions.create is original


def test_a_library_missing_or_too_old_is_skipped_or_refused_when_requested(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import anthropic.lib.streaming  # noqa: F401
    from anthropic.resources.messages import Messages
    from openai.resources.chat.completions import Completions

    teardown_integrations()
    anthropic_create = Messages.create
    monkeypatch.setitem(sys.modules, "litellm", None)  # not installed
    monkeypatch.setitem(sys.modules, "anthropic.lib.streaming", None)  # too old: no helpers
    try:
        assert setup_integrations() == ["openai"]  # the others are skipped, quietly
        assert hasattr(Completions.create, "__agentops_original__")
        assert Messages.create is anthropic_create
        with pytest.raises(DidNotEnable, match="litellm is not installed"):
            setup_integrations(integrations=["litellm"])
        with pytest.raises(DidNotEnable, match="anthropic is not installed or too old"):
            setup_integrations(integrations=["anthropic"])
        assert Messages.create is anthropic_create
    finally:
        teardown_integrations()
