"""PostgreSQL connections dropped under the store (a server restart, a proxy timeout): writes
are retried on a fresh connection and stats stay exact."""

from __future__ import annotations

import psycopg

from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import open_store
from tests.conftest import require
from tests.storage.builders import Seed, event
from tests.support.postgres import ADMIN_URL, fresh_database


def drop_connections(database_url: str) -> int:
    name = database_url.rpartition("/")[2]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    return len(rows)


def test_writes_survive_dropped_connections(postgres_ok: bool) -> None:
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        upgrade(url)
        store = open_store(url)
        try:
            seed = Seed.create(store)
            seed.session("s1")
            store.append_events([event("s1", "e1")])
            assert drop_connections(url) >= 1
            result = store.append_events([event("s1", "e1"), event("s1", "e2")])
            assert (result.inserted, result.duplicates) == (1, 1)
            assert store.get_stats(seed.project_id, "s1").events == 2
        finally:
            store.close()
