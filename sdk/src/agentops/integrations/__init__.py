"""LLM auto-instrumentation: one small `Integration` per provider library, set up by init().

`setup_integrations(config)` enables every auto-integration whose library is installed: at once
if the library is already imported, otherwise right after it is imported (a post-import hook),
so import order does not matter. A missing library raises `DidNotEnable`, which is ignored for
auto-integrations and raised for integrations requested by name. `teardown_integrations()`
(stop_instrumenting) restores every original method.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Sequence
from typing import ClassVar

from agentops._errors import logger
from agentops.integrations import _call, _hook

__all__ = ["DidNotEnable", "Integration", "setup_integrations", "teardown_integrations"]

AUTO_INTEGRATIONS: tuple[str, ...] = ("openai", "anthropic", "litellm")


class DidNotEnable(Exception):
    """The integration cannot be enabled (library missing or too old)."""


class Integration:
    """Patches one provider library. `module` is the import that triggers setup_once()."""

    identifier: ClassVar[str]
    module: ClassVar[str]

    def setup_once(self) -> None:
        """Install the patches; raise DidNotEnable if the library cannot be instrumented."""
        raise NotImplementedError

    def teardown(self) -> None:
        """Restore what setup_once() replaced."""
        raise NotImplementedError


_lock = threading.RLock()
_installed: dict[str, Integration] = {}


def _integration_class(name: str) -> type[Integration]:
    module = importlib.import_module(f"agentops.integrations.{name}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Integration) and value is not Integration:
            return value
    raise DidNotEnable(f"agentops.integrations.{name} defines no Integration")


def setup_integrations(
    config: object | None = None, integrations: Sequence[str] | None = None
) -> list[str]:
    """Enable `integrations` (default: all auto-integrations); returns the names set up or
    waiting for their library's import. Requested names raise DidNotEnable when unusable."""
    requested = integrations is not None
    names = list(integrations) if integrations is not None else list(AUTO_INTEGRATIONS)
    with _lock:
        _call.set_enabled(True)
        for name in names:
            if name in _installed:
                continue
            try:
                integration = _integration_class(name)()
                if importlib.util.find_spec(integration.module) is None:
                    raise DidNotEnable(f"{integration.module} is not installed")
            except (DidNotEnable, ImportError, ValueError) as exc:
                if requested:
                    raise DidNotEnable(str(exc)) from exc
                logger.debug("integration %s not enabled: %s", name, exc)
                continue
            _installed[name] = integration
            _hook.when_imported(integration.module, _enabler(name, integration, requested))
        return list(_installed)


def _enabler(name: str, integration: Integration, requested: bool) -> _hook.Callback:
    def enable(module: object) -> None:
        with _lock:
            if _installed.get(name) is not integration:
                return  # torn down before the library was imported
            try:
                integration.setup_once()
            except DidNotEnable as exc:
                _installed.pop(name, None)
                if requested:
                    raise
                logger.debug("integration %s not enabled: %s", name, exc)

    return enable


def teardown_integrations() -> None:
    """Undo every patch and stop waiting for imports; calls then go straight to the library."""
    with _lock:
        _call.set_enabled(False)
        while _installed:
            _name, integration = _installed.popitem()
            _hook.forget(integration.module)
            integration.teardown()
