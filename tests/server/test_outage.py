"""A database outage answers 503 with Retry-After and a JSON error, never a 500, and the
server recovers by itself when the database is back (real PostgreSQL, database renamed away)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from agentops_server.config import normalize_database_url
from agentops_server.storage.outage import is_outage
from tests.conftest import require
from tests.server.conftest import LiveServer, action, llm
from tests.support.postgres import ADMIN_URL, fresh_database


def rename_database(old: str, new: str) -> None:
    """ALTER DATABASE ... RENAME, after cutting off the server's pooled connections."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for _ in range(50):  # bounded: a pool may reconnect between the two statements
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (old,),
            )
            try:
                admin.execute(f'ALTER DATABASE "{old}" RENAME TO "{new}"')
                return
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)
    raise AssertionError(f"could not rename database {old}")


def assert_unavailable(res: httpx.Response) -> None:
    assert res.status_code == 503, res.text
    assert res.headers["Retry-After"] == "5"
    body = res.json()
    assert body["error"]["code"] == "database_unavailable"
    assert body["message"] == body["error"]["message"]
    assert "database is unavailable" in body["message"]


@pytest.mark.postgres
def test_a_database_outage_is_503_with_retry_after_and_recovers(pg_live: LiveServer) -> None:
    live = pg_live
    session_id, jwt = live.start_session()
    assert live.send_events(jwt, [llm(), action()]).status_code == 200
    name = make_url(normalize_database_url(live.config.database_url)).database
    assert name
    rename_database(name, name + "_away")
    try:
        requests: list[Callable[[], httpx.Response]] = [
            lambda: live.get(f"/v2/sessions/{session_id}/stats"),
            lambda: live.send_events(jwt, [action()]),
            lambda: live.post(
                "/v2/update_session", {"session": {"tags": ["x"]}}, headers=live.auth(jwt)
            ),
            lambda: live.post(
                "/v2/create_session",
                {"session": {"session_id": session_id}},
                headers=live.key_headers(),
            ),
        ]
        for send in requests:
            assert_unavailable(send())
        assert httpx.get(f"{live.url}/health", timeout=10).status_code == 200
    finally:
        rename_database(name + "_away", name)
    # back: nothing stored was harmed and the server works again without a restart
    stats = live.stats(session_id)
    assert stats["events"] == 2 and stats["prompt_tokens"] == 100
    assert live.send_events(jwt, [action()]).status_code == 200
    assert live.stats(session_id)["events"] == 3


def test_an_unopenable_sqlite_file_is_an_outage_and_a_bad_statement_is_not(
    tmp_path: Path,
) -> None:
    """SQLite raises OperationalError for both; only the first is worth a 503."""
    tmp_path.joinpath("a-directory").mkdir()
    cannot_open = create_engine(f"sqlite:///{tmp_path / 'a-directory'}")
    with pytest.raises(OperationalError) as raised:
        cannot_open.connect().close()
    assert is_outage(raised.value)
    fine = create_engine(f"sqlite:///{tmp_path / 'ok.sqlite3'}")
    with fine.connect() as conn, pytest.raises(OperationalError) as raised:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_outage(raised.value)
    cannot_open.dispose()
    fine.dispose()


def test_a_statement_past_a_postgresql_limit_is_not_an_outage(postgres_ok: bool) -> None:
    """A value too big for an index entry or a tsvector (SQLSTATE class 54) fails the same
    way however often it is retried: a 503 "retry later" would make a client retry it until
    it dropped the batch."""
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        engine = create_engine(normalize_database_url(url))
        too_many_words = (
            "SELECT to_tsvector('simple', string_agg(md5(i::text), ' '))"
            " FROM generate_series(1, 40000) AS i"
        )
        with engine.connect() as conn, pytest.raises(OperationalError) as raised:
            conn.execute(text(too_many_words))
        assert "too long for tsvector" in str(raised.value)
        assert not is_outage(raised.value)
        engine.dispose()
