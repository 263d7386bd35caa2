"""GenAI content from /v1/logs and its span's /v1/traces request running at the same moment
on PostgreSQL (writer threads, `serve --workers N`): whichever looked first, the content joins
the span's event, never waits for a span already stored until it expires. Each interleaving is
made with real connections holding PostgreSQL locks: a request stops at a statement until the
test lets it go, and the test waits (in pg_stat_activity) until it is there.

Also on both engines: held content that a request takes for a span stored already (an
exporter's retry) is merged into the stored event, not dropped with the duplicate. And on
PostgreSQL, with the server's connection cut at a chosen statement: content taken from the
held rows is never lost, still held or in its event, and the exporter's retry joins it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import httpx
import psycopg
import pytest
from sqlalchemy import make_url

from agentops_server.config import ServerConfig
from agentops_server.storage.records import PendingOtlp, pending_size
from tests.server.conftest import LiveServer, pg_live, start_live
from tests.server.test_otlp_ingest import export, live, send
from tests.server.test_otlp_log_resends import DETAILS, Log, at, log_request, stored_call
from tests.support.otlp import SpanSpec, chat_trace, new_span_id, session_of
from tests.support.server import free_port

__all__ = ["live", "pg_live"]  # the fixtures

T = TypeVar("T")
WAIT_SECONDS = 30.0
APPEND_TOUCHES_SESSION = "UPDATE sessions SET last_activity_at%"  # an append's first write
HOLDS = "INSERT INTO pending_otlp%"
CLAIMS = "DELETE FROM pending_otlp%"
MERGES = "SELECT events.payload%FOR UPDATE"  # merging log content into a stored event
MERGE_WRITES = "UPDATE events SET payload%"  # and writing what it merged
GATE = 0x67617465  # "gate": the advisory lock that wait_for_the_test's triggers wait for


def post_logs(live: LiveServer, body: bytes) -> None:
    """openai-v2's content records, in a client of their own (the test sends from threads)."""
    headers = {"Content-Type": "application/x-protobuf", "X-Agentops-Api-Key": live.api_key}
    with httpx.Client(timeout=WAIT_SECONDS * 2) as client:
        res = client.post(live.url + "/v1/logs", content=body, headers=headers)
    assert res.status_code == 200, res.text


def send_apart(live: LiveServer, *spans: SpanSpec) -> int:
    """send() in a client of its own; the status code."""
    with httpx.Client(timeout=WAIT_SECONDS * 2) as client:
        return send(replace(live, client=client), list(spans)).status_code


def libpq_url(live: LiveServer) -> str:
    """The server's database, for a plain psycopg connection of the test's own."""
    url = make_url(live.config.database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def in_thread(pool: ThreadPoolExecutor, work: Callable[[], T]) -> Future[T]:
    return pool.submit(work)


def wait_until_blocked(url: str, statement: str) -> None:
    """Until a connection to the database waits for a lock in a statement LIKE `statement`
    (polled: PostgreSQL tells no one when a statement starts to wait)."""
    deadline = time.monotonic() + WAIT_SECONDS
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query ILIKE %s"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(query, [statement]).fetchone()
            if row is not None and row[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"no statement like {statement!r} waited for a lock")
            time.sleep(0.005)


@contextmanager
def second_worker(live: LiveServer) -> Iterator[LiveServer]:
    """Another server process on the same database (as `serve --workers 2` runs one)."""
    config = ServerConfig.build(
        data_dir=live.config.data_dir,
        database_url=live.config.database_url,
        port=free_port(),
        environ={},
    )
    server, thread, store = start_live(config)
    other = replace(live, url=f"http://127.0.0.1:{config.port}", config=config, store=store)
    try:
        yield other
    finally:
        server.should_exit = True
        thread.join(30)
        store.close()


@pytest.mark.postgres
def test_content_held_while_its_span_is_written_joins_the_span(pg_live: LiveServer) -> None:
    """The span's request looked for held content (none), and is writing the span; the logs
    request looks for the span (not committed yet) and holds the content, then the span's
    commit: it was left held, its prompt empty, until it expired."""
    live, url = pg_live, libpq_url(pg_live)
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    assert send(live, [root]).status_code == 200  # its session exists
    body = log_request("protobuf", trace_id, span_id, [Log(DETAILS, "hello", *at(1))])
    with ThreadPoolExecutor(1) as pool, psycopg.connect(url) as blocker:
        blocker.execute("SELECT id FROM sessions WHERE id = %s FOR UPDATE", [session_of(trace_id)])
        span_request = in_thread(pool, lambda: send_apart(live, chat))
        wait_until_blocked(url, APPEND_TOUCHES_SESSION)  # looked, and now writing
        post_logs(live, body)
        assert live.store.pending_bytes(live.project_id) > 0  # held: the span is not there
        blocker.rollback()
        assert span_request.result(WAIT_SECONDS) == 200
    assert stored_call(live, trace_id) == (["hello"], ["re: hello"])
    assert live.store.pending_bytes(live.project_id) == 0


@pytest.mark.postgres
def test_content_held_after_its_span_was_stored_joins_the_span(pg_live: LiveServer) -> None:
    """The logs request looked for the span (not there) and is holding the content; the
    span's request looks for held content (not committed yet), stores the span and answers;
    then the hold commits: it was left held until it expired."""
    live, url = pg_live, libpq_url(pg_live)
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    assert send(live, [root]).status_code == 200
    body = log_request("protobuf", trace_id, span_id, [Log(DETAILS, "hello", *at(1))])
    with ThreadPoolExecutor(1) as pool, psycopg.connect(url) as blocker:
        blocker.execute("LOCK TABLE pending_otlp IN SHARE MODE")  # reads pass, writes wait
        logs_request = in_thread(pool, lambda: post_logs(live, body))
        wait_until_blocked(url, HOLDS)  # looked, and now holding
        assert send(live, [chat]).status_code == 200
        assert stored_call(live, trace_id) == ([], [])  # stored, without its content yet
        blocker.rollback()
        logs_request.result(WAIT_SECONDS)
    assert stored_call(live, trace_id) == (["hello"], ["re: hello"])
    assert live.store.pending_bytes(live.project_id) == 0


@pytest.mark.postgres
def test_content_an_earlier_version_held_for_the_trace_joins_a_span_stored_during_its_split(
    pg_live: LiveServer,
) -> None:
    """After the upgrade to per-span rows: one worker takes the trace's old whole-trace row for
    its call and holds the other call's part again; meanwhile the other call's request, on
    another worker, looked for held content (none: the row was taken, its rest not held yet)
    and stored its span. The rest was left held until it expired, that call's prompt empty."""
    live, url = pg_live, libpq_url(pg_live)
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    second = replace(chat, span_id=new_span_id(), start_ms=20, end_ms=30)
    assert send(live, [root]).status_code == 200
    old = {
        span_id: {"r1": {"prompt": [{"role": "user", "content": "one"}]}},
        second.span_id: {"r2": {"prompt": [{"role": "user", "content": "two"}]}},
    }
    came = datetime.now(UTC) - timedelta(seconds=60)
    live.store.hold_pending([PendingOtlp(trace_id, live.project_id, "logs", json.dumps(old), came)])
    with (
        second_worker(live) as other,
        ThreadPoolExecutor(2) as pool,
        psycopg.connect(url) as row_lock,
        psycopg.connect(url) as table_lock,
    ):
        row_lock.execute("SELECT seq FROM pending_otlp WHERE trace_id = %s FOR UPDATE", [trace_id])
        first = in_thread(pool, lambda: send_apart(live, chat))
        wait_until_blocked(url, CLAIMS)  # taking the old row: waits for the row lock
        # queued behind the take's transaction: granted when it commits, before the hold
        locked = in_thread(
            pool, lambda: table_lock.execute("LOCK TABLE pending_otlp IN SHARE MODE")
        )
        wait_until_blocked(url, "LOCK TABLE pending_otlp%")
        row_lock.rollback()
        wait_until_blocked(url, HOLDS)  # took the row, and now holds the other call's part
        locked.result(WAIT_SECONDS)
        assert send_apart(other, second) == 200
        table_lock.rollback()
        assert first.result(WAIT_SECONDS) == 200
    calls = {llm["id"]: llm["prompt"] for llm in export(live, trace_id)["llms"]}
    assert calls[span_id] == {"type": "chatml", "messages": [{"role": "user", "content": "one"}]}
    assert calls[second.span_id] == {
        "type": "chatml",
        "messages": [{"role": "user", "content": "two"}],
    }
    assert live.store.pending_bytes(live.project_id) == 0


def test_held_content_taken_by_a_span_sent_again_joins_the_stored_event(
    live: LiveServer,
) -> None:
    """Content held at the moment its span was stored (the logs request holds, then looks
    again) is taken by the span's request sent again (an exporter's retry): its event was
    skipped as a duplicate, and the content with it. On both engines."""
    span_id, spans = chat_trace()
    trace_id = spans[0].trace_id
    assert send(live, spans).status_code == 200
    content = {span_id: {"r1": {"prompt": [{"role": "user", "content": "hello"}]}}}
    held = PendingOtlp(
        trace_id, live.project_id, "logs", json.dumps(content), datetime.now(UTC), span_id
    )
    live.store.hold_pending([held])
    assert send(live, spans).status_code == 200
    assert stored_call(live, trace_id) == (["hello"], [])
    assert live.store.pending_bytes(live.project_id) == 0


@pytest.mark.postgres
def test_held_content_a_span_sent_again_took_is_held_again_when_it_cannot_be_merged(
    pg_live: LiveServer,
) -> None:
    """As above, and merging the taken content into the stored event fails (its connection
    is cut at each of the store's retries): the content is held again, not lost (it was
    taken from the held rows, and only the logs request had sent it), and the exporter's
    retry of the spans joins it."""
    live, url = pg_live, libpq_url(pg_live)
    span_id, spans = chat_trace()
    trace_id = spans[0].trace_id
    assert send(live, spans).status_code == 200
    content = {span_id: {"r1": {"prompt": [{"role": "user", "content": "hello"}]}}}
    held = PendingOtlp(
        trace_id, live.project_id, "logs", json.dumps(content), datetime.now(UTC), span_id
    )
    live.store.hold_pending([held])
    with (
        ThreadPoolExecutor(1) as pool,
        psycopg.connect(url) as event_row,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        event_row.execute(
            "SELECT seq FROM events WHERE session_id = %s AND id = %s FOR UPDATE",
            [session_of(trace_id), span_id],
        )
        again = in_thread(pool, lambda: send_apart(live, *spans))
        deadline = time.monotonic() + WAIT_SECONDS
        while not again.done() and time.monotonic() < deadline:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE %s",
                [MERGES],
            )
            time.sleep(0.05)
        event_row.rollback()
        assert again.result(WAIT_SECONDS) == 503  # the database failed: retry
    assert live.store.pending_bytes(live.project_id) > 0  # held again, not lost
    assert send(live, spans).status_code == 200
    assert stored_call(live, trace_id) == (["hello"], [])
    assert live.store.pending_bytes(live.project_id) == 0


@pytest.mark.postgres
def test_content_an_earlier_version_held_for_the_trace_is_held_once_after_a_failed_split(
    pg_live: LiveServer,
) -> None:
    """A request takes the trace's old whole-trace row for its call and holds the other
    call's part as a row of its own; joining that part to its stored span fails (the
    connection is cut at each of the store's retries) and the request fails. What it took
    was held again whole, beside the other call's row: that part counted twice in the
    project's pending bytes until it expired. Now the part of a stored span is merged before
    anything is held, so the failure leaves the whole row held as it was, and only it."""
    live, url = pg_live, libpq_url(pg_live)
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    second = replace(chat, span_id=new_span_id(), start_ms=20, end_ms=30)
    assert send(live, [root, second]).status_code == 200
    one = {"r1": {"prompt": [{"role": "user", "content": "one"}]}}
    two = {"r2": {"prompt": [{"role": "user", "content": "two"}]}}
    old = {span_id: one, second.span_id: two}
    came = datetime.now(UTC) - timedelta(seconds=60)
    live.store.hold_pending([PendingOtlp(trace_id, live.project_id, "logs", json.dumps(old), came)])
    with (
        ThreadPoolExecutor(1) as pool,
        psycopg.connect(url) as event_row,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        event_row.execute(
            "SELECT seq FROM events WHERE session_id = %s AND id = %s FOR UPDATE",
            [session_of(trace_id), second.span_id],
        )
        first = in_thread(pool, lambda: send_apart(live, chat))
        deadline = time.monotonic() + WAIT_SECONDS
        while not first.done() and time.monotonic() < deadline:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE %s",
                [MERGES],
            )
            time.sleep(0.05)
        event_row.rollback()
        assert first.result(WAIT_SECONDS) == 503  # the database failed: retry
    assert live.store.pending_bytes(live.project_id) == pending_size(json.dumps(old))
    assert send(live, [chat]).status_code == 200  # the exporter's retry
    calls = {llm["id"]: llm["prompt"]["messages"] for llm in export(live, trace_id)["llms"]}
    assert calls == {
        span_id: [{"role": "user", "content": "one"}],
        second.span_id: [{"role": "user", "content": "two"}],
    }
    assert live.store.pending_bytes(live.project_id) == 0


@contextmanager
def wait_for_the_test(url: str, *writes: str) -> Iterator[None]:
    """Each of these writes (`BEFORE INSERT ON pending_otlp`, say) waits, taken in a trigger,
    for a lock the test holds until it leaves the block; the triggers are dropped after."""
    with psycopg.connect(url, autocommit=True) as gate:
        gate.execute(
            "CREATE FUNCTION test_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"PERFORM pg_advisory_xact_lock_shared({GATE}); RETURN NEW; END $$"
        )
        for n, write in enumerate(writes):
            gate.execute(
                f"CREATE TRIGGER test_gate_{n} {write} FOR EACH ROW EXECUTE FUNCTION test_gate()"
            )
        gate.execute("SELECT pg_advisory_lock(%s)", [GATE])
        try:
            yield
        finally:
            gate.execute("SELECT pg_advisory_unlock_all()")
            for n, write in enumerate(writes):
                gate.execute(f"DROP TRIGGER test_gate_{n} ON {write.split()[-1]}")
            gate.execute("DROP FUNCTION test_gate()")


def cut_while_waiting(
    admin: psycopg.Connection[tuple[object, ...]], request: Future[int], *statements: str
) -> int:
    """Cut the server's connection whenever it waits for a lock in one of these statements
    (at each of the store's retries), until the request is answered; its status code."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not request.done() and time.monotonic() < deadline:
        for statement in statements:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE %s",
                [statement],
            )
        time.sleep(0.05)
    return request.result(WAIT_SECONDS)


@pytest.mark.postgres
def test_content_an_earlier_version_held_for_the_trace_is_not_lost_when_holding_its_rest_fails(
    pg_live: LiveServer,
) -> None:
    """A request stores its call's span; meanwhile a whole-trace row of an earlier version is
    held again (a failed request gave it back), so the request's look after its commit takes
    it, merges its call's part and holds the other call's part again; that hold fails (its
    connection is cut at each of the store's retries). The row had been taken and the other
    call's part was lost, its prompt empty for good. Now taking, merging and holding again
    are one transaction: the row is still held, whole, and the exporter's retry joins it."""
    live, url = pg_live, libpq_url(pg_live)
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    second = replace(chat, span_id=new_span_id(), start_ms=20, end_ms=30)
    assert send(live, [root]).status_code == 200
    old = {
        span_id: {"r1": {"prompt": [{"role": "user", "content": "one"}]}},
        second.span_id: {"r2": {"prompt": [{"role": "user", "content": "two"}]}},
    }
    whole = PendingOtlp(
        trace_id,
        live.project_id,
        "logs",
        json.dumps(old),
        datetime.now(UTC) - timedelta(seconds=60),
    )
    with (
        ThreadPoolExecutor(1) as pool,
        psycopg.connect(url) as blocker,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        blocker.execute("SELECT id FROM sessions WHERE id = %s FOR UPDATE", [session_of(trace_id)])
        first = in_thread(pool, lambda: send_apart(live, chat))
        wait_until_blocked(url, APPEND_TOUCHES_SESSION)  # took what was held (nothing): writing
        live.store.hold_pending([whole])
        with wait_for_the_test(url, "BEFORE INSERT ON pending_otlp"):
            blocker.rollback()
            assert cut_while_waiting(admin, first, HOLDS) == 503  # the database failed: retry
    assert live.store.pending_bytes(live.project_id) == pending_size(whole.body)  # as it was
    assert send(live, [chat]).status_code == 200  # the exporter's retry
    assert send(live, [second]).status_code == 200
    calls = {llm["id"]: llm["prompt"]["messages"] for llm in export(live, trace_id)["llms"]}
    assert calls == {
        span_id: [{"role": "user", "content": "one"}],
        second.span_id: [{"role": "user", "content": "two"}],
    }
    assert live.store.pending_bytes(live.project_id) == 0


@pytest.mark.postgres
def test_log_content_held_for_a_stored_span_is_not_lost_when_joining_it_fails(
    pg_live: LiveServer,
) -> None:
    """A request stores its call's span; its content is held meanwhile, so the request's look
    after its commit takes it; merging it fails, and so does holding it again (an outage:
    the connection is cut at each of the store's retries of both). The content had been taken
    and was lost. Now taking and merging are one transaction: it is still held, and the
    exporter's retry of the span joins it."""
    live, url = pg_live, libpq_url(pg_live)
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    assert send(live, [root]).status_code == 200
    content = {span_id: {"r1": {"prompt": [{"role": "user", "content": "hello"}]}}}
    held = PendingOtlp(
        trace_id, live.project_id, "logs", json.dumps(content), datetime.now(UTC), span_id
    )
    with (
        ThreadPoolExecutor(1) as pool,
        psycopg.connect(url) as blocker,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        blocker.execute("SELECT id FROM sessions WHERE id = %s FOR UPDATE", [session_of(trace_id)])
        first = in_thread(pool, lambda: send_apart(live, chat))
        wait_until_blocked(url, APPEND_TOUCHES_SESSION)  # took what was held (nothing): writing
        live.store.hold_pending([held])
        writes = ("BEFORE UPDATE OF payload ON events", "BEFORE INSERT ON pending_otlp")
        with wait_for_the_test(url, *writes):
            blocker.rollback()
            assert cut_while_waiting(admin, first, MERGE_WRITES, HOLDS) == 503
    assert live.store.pending_bytes(live.project_id) == pending_size(held.body)  # as it was
    assert stored_call(live, trace_id) == ([], [])
    assert send(live, [chat]).status_code == 200  # the exporter's retry
    assert stored_call(live, trace_id) == (["hello"], [])
    assert live.store.pending_bytes(live.project_id) == 0
