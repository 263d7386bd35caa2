"""One real `agentops serve` per engine and test module, with the fake OpenAI provider, for
the OTLP end-to-end tests: each client program run costs seconds, so its sessions are shared
by the tests that check them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require
from tests.support.fake_providers import FakeProviders
from tests.support.postgres import fresh_database
from tests.support.server import ServerProcess


@dataclass
class Stack:
    engine: str
    server: ServerProcess
    fake: FakeProviders
    workdir: Path  # where the client programs run


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_ok: bool
) -> Iterator[Stack]:
    """A server on SQLite, then on PostgreSQL, and the fake provider, for a whole module."""
    engine: str = request.param
    workdir = tmp_path_factory.mktemp(f"otlp-{engine}")
    data_dir = workdir / "server-data"
    with FakeProviders() as fake:
        if engine == "sqlite":
            server = ServerProcess(data_dir=data_dir).start()
            try:
                yield Stack(engine, server, fake, workdir)
            finally:
                server.stop()
            return
        require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
        with fresh_database() as url:
            server = ServerProcess(data_dir=data_dir, database_url=url).start()
            try:
                yield Stack(engine, server, fake, workdir)
            finally:
                server.stop()
