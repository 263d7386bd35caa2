"""Pricing tests use real stores: a migrated SQLite file or PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import SqlStore, open_store


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    upgrade(database_url)
    opened = open_store(database_url)
    try:
        yield opened
    finally:
        opened.close()
