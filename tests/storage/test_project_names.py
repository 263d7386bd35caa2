"""Project names are unique (create_project raises Conflict), also when two creations of one
name overlap on PostgreSQL (a double-clicked dashboard form, two admins, the CLI beside the
dashboard). Found by review: a SELECT-then-INSERT let both through. The test makes the overlap
deterministic: it holds a lock that lets creations read but not insert, waits until both are
queued, then lets them go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import open_store
from agentops_server.storage.store import Conflict
from tests.conftest import require
from tests.support.postgres import fresh_database


@pytest.fixture
def pg_url(postgres_ok: bool) -> Iterator[str]:
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        upgrade(url)
        yield url


def test_two_overlapping_creations_of_one_name_make_one_project(pg_url: str) -> None:
    store = open_store(pg_url)
    outcomes: list[str] = []

    def create() -> None:
        try:
            store.create_project("Production")
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    try:
        with psycopg.connect(pg_url) as gate:
            # SHARE ROW EXCLUSIVE: reads go on, INSERTs wait until this transaction ends
            gate.execute("LOCK TABLE projects IN SHARE ROW EXCLUSIVE MODE")
            threads = [threading.Thread(target=create) for _ in range(2)]
            for thread in threads:
                thread.start()
            with psycopg.connect(pg_url, autocommit=True) as watcher:
                while True:  # both creations have read "no such name" and wait to insert
                    row = watcher.execute(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid IN"
                        " (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
                    ).fetchone()
                    assert row is not None
                    if row[0] >= 2 or not any(t.is_alive() for t in threads):
                        break
                    time.sleep(0.02)
            gate.rollback()
        for thread in threads:
            thread.join(30)
        named = [p for p in store.list_projects() if p.name == "Production"]
    finally:
        store.close()
    assert sorted(outcomes) == ["conflict", "created"], outcomes
    assert len(named) == 1, f"{len(named)} projects are named 'Production'"
