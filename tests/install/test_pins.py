"""Installs are reproducible: every package `make test` installs is pinned, and the
environments hold exactly the pinned versions (requirements/*.txt, from `make lock`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require

REQUIREMENTS = REPO_ROOT / "requirements"
OURS = {"agentops", "agentops-server"}
FROM_THE_INTERPRETER = {"setuptools", "wheel"}  # a new venv's own; they build nothing of ours


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"{lock.name}: not an exact pin: {line!r}"
            found[canonical(name)] = version
    return found


def loose_names(source: Path) -> list[str]:
    names = []
    for line in source.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(canonical(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]))
    return names


@pytest.mark.parametrize("name", ["dev", "oldest", "agentops026"])
def test_every_listed_package_is_pinned_in_the_lock(name: str) -> None:
    locked = pins(REQUIREMENTS / f"{name}.txt")
    for package in loose_names(REQUIREMENTS / f"{name}.in"):
        assert package in locked, f"{package} is in {name}.in but not in {name}.txt: make lock"


def test_the_newest_provider_generations_are_the_ones_tested() -> None:
    locked = pins(REQUIREMENTS / "dev.txt")
    assert int(locked["openai"].split(".")[0]) >= 3
    assert int(locked["anthropic"].split(".")[0]) >= 2
    assert "litellm" in locked and "hatchling" in locked and "pip" in locked


def test_oldest_pins_are_the_floors_the_docs_claim() -> None:
    locked = pins(REQUIREMENTS / "oldest.txt")
    text = (REPO_ROOT / "docs" / "integrations.md").read_text()
    for library in ("openai", "anthropic"):
        floor = ".".join(locked[library].split(".")[:2])
        assert f"`{library}` ≥ {floor} (tested with {locked[library]} and" in text, library
    sdk = (REPO_ROOT / "sdk" / "pyproject.toml").read_text()
    assert f'"httpx>={".".join(locked["httpx"].split(".")[:2])},' in sdk


def installed(python: Path) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True)
    return {canonical(k): v for k, v in json.loads(done.stdout).items()}


@pytest.mark.parametrize(
    ("venv", "lock"),
    [(".venv", "dev"), (".venv-oldest", "oldest"), (".venv-agentops026", "agentops026")],
)
def test_environments_hold_exactly_the_pinned_versions(venv: str, lock: str) -> None:
    python = REPO_ROOT / venv / "bin" / "python"
    if venv == ".venv" and Path(sys.prefix).resolve() != (REPO_ROOT / ".venv").resolve():
        pytest.skip("these tests do not run in the checkout's .venv")
    require(python.exists(), f"{venv} (scripts/setup.sh --test)")
    have = {k: v for k, v in installed(python).items() if k not in FROM_THE_INTERPRETER}
    ours = set() if lock == "agentops026" else OURS  # ./sdk, ./server: editable, unpinned
    assert {k: v for k, v in have.items() if k not in ours} == pins(REQUIREMENTS / f"{lock}.txt")
