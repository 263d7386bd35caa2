"""Fixtures shared by every test package: engines, databases and server processes.

`make test` (and CI) sets AGENTOPS_TEST_REQUIRE_ALL=1: then a missing PostgreSQL or Chromium
is a failure, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.postgres import fresh_database, postgres_available
from tests.support.server import ServerProcess

REQUIRE_ALL = os.environ.get("AGENTOPS_TEST_REQUIRE_ALL") == "1" or os.environ.get("CI") == "true"
REPO_ROOT = Path(__file__).resolve().parent.parent


def require(available: bool, what: str) -> None:
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required here (AGENTOPS_TEST_REQUIRE_ALL/CI) but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session", autouse=True)
def private_spool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """SDK processes of the tests (and their subprocesses) spool under a folder of this run,
    not in the user's ~/.local/state (the SDK's default is $XDG_STATE_HOME/agentops/spool)."""
    with _state_home(tmp_path_factory):
        yield


@pytest.fixture(autouse=True)
def spool_of_the_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """And each test under a folder of its own, not where an earlier one left what its silent
    server never got: the next init() would send it all (150,000 events and more, piled up
    by one xdist worker) while the test ran."""
    with _state_home(tmp_path_factory):
        yield


@contextmanager
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = previous


@pytest.fixture(scope="session")
def postgres_ok() -> bool:
    return postgres_available()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_ok: bool
) -> Iterator[str]:
    """A real, empty database of each engine: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'agentops.sqlite3'}"
        return
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        yield url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `agentops serve` on SQLite with a fresh project and API key."""
    proc = ServerProcess(data_dir=tmp_path / "server-data").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def pg_server(tmp_path: Path, postgres_ok: bool) -> Iterator[ServerProcess]:
    """A real `agentops serve` on a fresh PostgreSQL database."""
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        proc = ServerProcess(data_dir=tmp_path / "server-data", database_url=url).start()
        try:
            yield proc
        finally:
            proc.stop()
