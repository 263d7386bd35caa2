"""The storage contract suite runs every test on SQLite and PostgreSQL (`database_url`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import SqlStore, open_store
from tests.storage.builders import Seed


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """A store on a freshly migrated, empty database of each engine."""
    upgrade(database_url)
    opened = open_store(database_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def seed(store: SqlStore) -> Seed:
    """A project with helpers to make sessions and events in it."""
    return Seed.create(store)
