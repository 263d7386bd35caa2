"""Token-less data of agentops 0.4 (spans exported, a logfile uploaded before the client's
token arrives) held at the moment an authenticated request of its trace creates the trace's
session, on PostgreSQL: it is stored into that session, not left held until it expires. Each
interleaving is made with a real connection holding a PostgreSQL lock: the token-less request
stops at its hold until the test lets it go, and the test waits (in pg_stat_activity) until
it is there.

Also on both engines: the authenticated request that creates the session may be agentops
0.4's log upload, with no spans of its own; it stores what waits for the trace all the same."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.server.conftest import LiveServer, pg_live
from tests.server.test_otlp_content_races import (
    HOLDS,
    WAIT_SECONDS,
    in_thread,
    libpq_url,
    wait_until_blocked,
)
from tests.server.test_otlp_ingest import PROTOBUF, check_workflow, live, send, workflow
from tests.support.otlp import SpanSpec, new_trace_id, session_of, trace_request

__all__ = ["live", "pg_live"]  # the fixtures
LOCKS_SESSIONS = "SELECT sessions.id%FOR NO KEY UPDATE"  # an append's first statement
CREATES_SESSION = "INSERT INTO sessions%"


def post_token_less(live: LiveServer, specs: list[SpanSpec]) -> int:
    """The spans as agentops 0.4 exports them before its token: no key; the status code."""
    body = trace_request(specs).SerializeToString()
    with httpx.Client(timeout=WAIT_SECONDS * 2) as client:
        return client.post(live.url + "/v1/traces", content=body, headers=PROTOBUF).status_code


def upload_token_less(live: LiveServer, trace_id: str, text: str) -> int:
    """agentops 0.4's logfile upload before its token: no key; the status code."""
    headers = {"Trace-Id": str(int(trace_id, 16))}
    with httpx.Client(timeout=WAIT_SECONDS * 2) as client:
        res = client.post(live.url + "/v4/logs/upload/", json={"body": text}, headers=headers)
    return res.status_code


def upload_with_token(live: LiveServer, trace_id: str, text: str) -> int:
    """agentops 0.4's logfile upload once its token came; the status code."""
    with httpx.Client(timeout=WAIT_SECONDS * 2) as client:
        res = client.post(live.url + "/v3/auth/token", json={"api_key": live.api_key})
        headers = {
            "Trace-Id": str(int(trace_id, 16)),
            "Authorization": f"Bearer {res.json()['token']}",
        }
        res = client.post(live.url + "/v4/logs/upload/", json={"body": text}, headers=headers)
    return res.status_code


def test_token_less_spans_are_stored_by_the_log_upload_that_creates_their_session(
    live: LiveServer,
) -> None:
    """agentops 0.4 exported the whole trace before its token arrived, then uploaded its
    logfile with it: the upload created the session, and the spans stayed held (the session
    empty) until they expired, as no authenticated request of spans came for the trace."""
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    assert post_token_less(live, [root, *children]) == 200
    assert upload_with_token(live, trace_id, "a line") == 200
    check_workflow(live, trace_id, root, children)
    assert [log.body for log in live.store.list_session_logs(session_of(trace_id))] == ["a line"]
    assert live.store.pending_bytes() == 0


@pytest.mark.postgres
def test_token_less_spans_held_while_a_log_upload_creates_their_session_are_stored_in_it(
    pg_live: LiveServer,
) -> None:
    """The upload is creating the session; the token-less request finds no session, holds
    its spans and looks again for the session (not committed yet): the spans wait for the
    upload's look after its commit."""
    live, url = pg_live, libpq_url(pg_live)
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    with ThreadPoolExecutor(1) as pool, psycopg.connect(url) as blocker:
        blocker.execute("LOCK TABLE sessions IN SHARE MODE")  # reads pass, writes wait
        upload = in_thread(pool, lambda: upload_with_token(live, trace_id, "a line"))
        wait_until_blocked(url, CREATES_SESSION)
        assert post_token_less(live, [root, *children]) == 200  # held, and no session seen
        assert live.store.pending_bytes() > 0
        blocker.rollback()
        assert upload.result(WAIT_SECONDS) == 200
    check_workflow(live, trace_id, root, children)
    assert live.store.pending_bytes() == 0


@pytest.mark.postgres
def test_token_less_spans_held_while_their_session_is_created_are_stored_in_it(
    pg_live: LiveServer,
) -> None:
    """The token-less request found no session for the trace and is holding its spans; an
    authenticated request of the trace creates the session, looks for held spans (the hold
    has not committed), stores its root and answers; then the hold commits: the spans were
    left held, the session without them, until the sweeper dropped them."""
    live, url = pg_live, libpq_url(pg_live)
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    with ThreadPoolExecutor(1) as pool, psycopg.connect(url) as blocker:
        blocker.execute("LOCK TABLE pending_otlp IN SHARE MODE")  # reads pass, writes wait
        token_less = in_thread(pool, lambda: post_token_less(live, children))
        wait_until_blocked(url, HOLDS)  # found no session, and now holding
        assert send(live, [root]).status_code == 200
        assert live.get(f"/v2/sessions/{session_of(trace_id)}/stats").status_code == 200
        blocker.rollback()
        assert token_less.result(WAIT_SECONDS) == 200
    check_workflow(live, trace_id, root, children)
    assert live.store.pending_bytes() == 0


@pytest.mark.postgres
def test_a_token_less_log_upload_held_while_its_session_is_created_is_kept_with_it(
    pg_live: LiveServer,
) -> None:
    """The same race for agentops 0.4's logfile uploaded before its token: it was left held
    until it expired, the session's logs empty."""
    live, url = pg_live, libpq_url(pg_live)
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    with ThreadPoolExecutor(1) as pool, psycopg.connect(url) as blocker:
        blocker.execute("LOCK TABLE pending_otlp IN SHARE MODE")
        upload = in_thread(pool, lambda: upload_token_less(live, trace_id, "early line"))
        wait_until_blocked(url, HOLDS)
        assert send(live, [root, *children]).status_code == 200
        blocker.rollback()
        assert upload.result(WAIT_SECONDS) == 200
    check_workflow(live, trace_id, root, children)
    logs = live.store.list_session_logs(session_of(trace_id))
    assert [log.body for log in logs] == ["early line"]
    assert live.store.pending_bytes() == 0


@pytest.mark.postgres
def test_token_less_spans_that_cannot_go_into_their_session_now_stay_held_and_answered_200(
    pg_live: LiveServer,
) -> None:
    """The same race, and storing the held spans into the session fails (its connection is
    cut): they are held again and the request is answered 200. It was a 503, and the
    exporter's retry was refused with a 401 (a token-less request adding to a session that
    exists), so the spans waited for another authenticated request or were lost. The next
    authenticated request of the trace stores them."""
    live, url = pg_live, libpq_url(pg_live)
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    with (
        ThreadPoolExecutor(1) as pool,
        psycopg.connect(url) as holds,
        psycopg.connect(url) as session_row,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        holds.execute("LOCK TABLE pending_otlp IN SHARE MODE")
        token_less = in_thread(pool, lambda: post_token_less(live, children))
        wait_until_blocked(url, HOLDS)
        assert send(live, [root]).status_code == 200
        # the append into the session waits for its row, and its connection is cut, again
        # at each of the store's retries, until the store gives up
        session_row.execute(
            "SELECT id FROM sessions WHERE id = %s FOR UPDATE", [session_of(trace_id)]
        )
        holds.rollback()
        deadline = time.monotonic() + WAIT_SECONDS
        while not token_less.done() and time.monotonic() < deadline:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE %s",
                [LOCKS_SESSIONS],
            )
            time.sleep(0.05)
        session_row.rollback()
        assert token_less.result(WAIT_SECONDS) == 200
    assert live.store.pending_bytes() > 0  # held again, not lost
    assert send(live, [root]).status_code == 200  # the trace's next authenticated request
    check_workflow(live, trace_id, root, children)
    assert live.store.pending_bytes() == 0
