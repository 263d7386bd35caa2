"""Several servers starting at once on an empty PostgreSQL database (deployment.md: "All of
them may start at once"): each one starts, and exactly one project "Default" is made."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import PROJECT_NAMES_LOCK, open_store
from tests.conftest import require
from tests.support.postgres import fresh_database

# What `agentops serve` does before it serves, in a process of its own (as each server is)
PREPARE = """
import sys
from pathlib import Path
from agentops_server.cli.serve import _prepare
from agentops_server.config import ServerConfig
_prepare(ServerConfig.build(data_dir=Path(sys.argv[2]), database_url=sys.argv[1], environ={}))
"""


def test_servers_starting_together_on_an_empty_database_all_start(
    tmp_path: Path, postgres_ok: bool
) -> None:
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        upgrade(url)
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain) as held:
            # both servers find no project, then wait to create one: the race, every time
            held.execute("SELECT pg_advisory_xact_lock(%s)", (PROJECT_NAMES_LOCK,))
            starts = [
                subprocess.Popen(
                    [sys.executable, "-c", PREPARE, url, str(tmp_path / f"server-{n}")],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                )
                for n in range(2)
            ]
            try:
                deadline = time.monotonic() + 60
                while _waiting_for_the_lock(plain) < 2:
                    assert time.monotonic() < deadline, "the servers never reached the creation"
                    assert all(p.poll() is None for p in starts), [p.communicate() for p in starts]
                    time.sleep(0.01)
            finally:
                held.rollback()
            done = [p.communicate(timeout=60) for p in starts]
        assert [p.returncode for p in starts] == [0, 0], done
        assert sum("created project" in out for out, _ in done) == 1
        store = open_store(url)
        try:
            assert [p.name for p in store.list_projects()] == ["Default"]
        finally:
            store.close()


def _waiting_for_the_lock(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as watcher:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        ).fetchone()
    return int(row[0]) if row else 0
