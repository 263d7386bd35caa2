"""The exporter: batching, retries, outages, drops counted, the transport seam."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import agentops
from agentops._client import Client
from agentops._outcome import QUEUE_FULL, Outcome
from agentops._transport import HttpTransport, Request, TransportError
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import LogLines, export, start, stats
from tests.support.server import ServerProcess, free_port


def test_ten_thousand_events_arrive_exactly_once(server: ServerProcess) -> None:
    session = start(server)
    for i in range(10_000):
        session.record(agentops.ActionEvent(action_type="step", params={"i": i}))
    session.end_session("Success")
    assert agentops.flush(60)  # end_session() waits flush_timeout at most: a slow machine
    assert stats(server, session.session_id)["event_counts"]["actions"] == 10_000


def test_server_down_then_back_loses_nothing(server: ServerProcess) -> None:
    session = start(server)
    session.record(agentops.ActionEvent(action_type="before"))
    assert agentops.flush()
    server.stop()
    for i in range(50):
        session.record(agentops.ActionEvent(action_type="during", params={"i": i}))
    assert agentops.flush(timeout=1.5) is False  # nobody to send to
    server.start()  # same port, same data directory
    cost = session.end_session("Success")
    assert cost is not None
    data = export(server, session.session_id)
    assert len(data["actions"]) == 51
    assert data["session"]["end_state"] == "Success"


def test_session_started_while_server_is_down_does_not_block(server: ServerProcess) -> None:
    port = server.port
    server.stop()
    session = agentops.init(
        api_key=server.api_key,
        endpoint=f"http://127.0.0.1:{port}",
        instrument_llm_calls=False,
    )
    assert session is not None and session.jwt is None  # returned at once, no token yet
    session.record(agentops.ActionEvent(action_type="held"))
    server.start()
    assert session.end_session("Success") is not None
    assert [a["action_type"] for a in export(server, session.session_id)["actions"]] == ["held"]


def test_full_queue_drops_and_counts(agentops_log: LogLines) -> None:
    transport = InMemoryTransport()
    transport.fail_next(*[0] * 3)  # the first requests find no server
    session = agentops.init(
        api_key=str(uuid.uuid4()),
        transport=transport,
        max_queue_size=10,
        instrument_llm_calls=False,
    )
    assert session is not None
    before = agentops.get_client().dropped_events
    for _ in range(200):
        session.record(agentops.ActionEvent(action_type="burst"))
    session.end_session("Success")
    dropped = agentops.get_client().dropped_events - before
    delivered = len(transport.events_of(session.session_id))
    # a queue near full while the server fails goes to the spool, faster than a tight loop
    # fills it: some are dropped
    client = agentops.get_client()
    assert isinstance(client, Client)
    spooled = client.worker.counts[Outcome.SPOOLED]
    assert dropped > 0
    assert delivered + spooled + dropped == 200
    assert session.get_analytics()["Actions"] == 200  # recorded, as 0.3 counts them
    full = client.worker.lost_reasons[QUEUE_FULL]
    assert full > 0
    (stats,) = [line for line in agentops_log.lines if "Session Stats" in line]
    assert f"| Actions: 200 | Errors: 0 | Not recorded: {dropped} (" in stats
    assert f"queue_full: {full}" in stats
    hint = (
        f"WARNING {full} event(s) dropped so far because the queue was full (max_queue_size "
        "10); raise max_queue_size or check the server"
    )
    deadline = time.monotonic() + 15  # said by the worker's thread, after its next batch
    while hint not in agentops_log.lines and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hint in agentops_log.lines


def test_a_spool_without_room_is_not_spilled_into_the_queue_waits_for_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue passes 80% while the server does not answer, but the spool is full: its
    batches are not given up to it (they would be lost), they wait for the server as before."""
    transport = InMemoryTransport()
    transport.fail_next(*[0] * 4)  # a short outage
    monkeypatch.setenv("AGENTOPS_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("AGENTOPS_SPOOL_MAX_BYTES", "1000")  # no room
    session = agentops.init(
        api_key=str(uuid.uuid4()),
        transport=transport,
        max_queue_size=100,
        instrument_llm_calls=False,
    )
    assert session is not None
    before = agentops.get_client().dropped_events
    for i in range(85):
        session.record(agentops.ActionEvent(action_type="during", params={"i": i}))
    # during the outage the end is not waited for (None); once the server answers, the
    # events and the end follow
    session.end_session("Success")
    assert agentops.flush(15)
    assert agentops.get_client().dropped_events - before == 0
    assert len(transport.events_of(session.session_id)) == 85


def test_retries_429_with_retry_after_and_5xx() -> None:
    transport = InMemoryTransport()
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    assert session is not None
    assert agentops.flush()
    transport.fail_next(503, 429, 500, 0)
    session.record(agentops.ActionEvent(action_type="retried"))
    assert session.end_session("Success") is not None
    assert [e["action_type"] for e in transport.events] == ["retried"]
    assert transport.sessions[str(session.session_id)]["end_state"] == "Success"


def test_too_large_batches_are_split() -> None:
    transport = InMemoryTransport()
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    assert session is not None
    assert agentops.flush()
    transport.fail_next(413)
    for i in range(10):
        session.record(agentops.ActionEvent(action_type=f"a{i}"))
    session.end_session("Success")
    assert len(transport.events) == 10
    sizes = [len(body["events"]) for path, body in transport.requests if path.endswith("events")]
    assert sizes == [5, 5]


def test_rejected_requests_are_dropped_counted_and_do_not_block() -> None:
    transport = InMemoryTransport()
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    assert session is not None
    assert agentops.flush()
    before = agentops.get_client().dropped_events
    transport.fail_next(400)
    session.record(agentops.ActionEvent(action_type="refused"))
    assert agentops.flush()
    session.record(agentops.ActionEvent(action_type="accepted"))
    session.end_session("Success")
    assert [e["action_type"] for e in transport.events] == ["accepted"]
    assert agentops.get_client().dropped_events - before == 1


def test_an_event_the_server_cannot_store_does_not_hold_up_other_sessions() -> None:
    """The server answers 500 to any request carrying one event: that event alone is dropped
    (counted) after a few tries; its batch-mates and the other sessions go through."""
    transport = InMemoryTransport()
    agentops.init(api_key=str(uuid.uuid4()), transport=transport, auto_start_session=False)
    poisoned = agentops.start_session(tags=["poisoned"])
    bystander = agentops.start_session(tags=["bystander"])
    assert poisoned is not None and bystander is not None
    assert agentops.flush()
    transport.refuse_events(lambda event: event.get("action_type") == "unstorable", 500)
    dropped = agentops.get_client().dropped_events
    for i in range(7):
        poisoned.record(agentops.ActionEvent(action_type="unstorable" if i == 3 else f"p{i}"))
    for i in range(10):
        bystander.record(agentops.ActionEvent(action_type=f"b{i}"))
    assert bystander.end_session("Success") is not None
    assert len(transport.events_of(bystander.session_id)) == 10
    assert transport.sessions[str(bystander.session_id)]["end_state"] == "Success"
    assert poisoned.end_session("Success") is not None
    kept = sorted(e["action_type"] for e in transport.events_of(poisoned.session_id))
    assert kept == ["p0", "p1", "p2", "p4", "p5", "p6"]
    assert agentops.get_client().dropped_events - dropped == 1


def test_a_lone_event_the_server_cannot_store_is_dropped_alone() -> None:
    transport = InMemoryTransport()
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    assert session is not None
    assert agentops.flush()
    transport.refuse_events(lambda event: event.get("action_type") == "unstorable", 500)
    session.record(agentops.ActionEvent(action_type="unstorable"))
    assert agentops.flush()
    session.record(agentops.ActionEvent(action_type="next"))
    assert session.end_session("Success") is not None
    assert [e["action_type"] for e in transport.events] == ["next"]


def test_a_server_failing_on_everything_is_retried_not_bisected_away() -> None:
    """500s that hit every request (not one event) are an outage: nothing is dropped."""
    transport = InMemoryTransport()
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    assert session is not None
    assert agentops.flush()
    dropped = agentops.get_client().dropped_events
    transport.fail_next(*[500] * 12)
    for i in range(10):
        session.record(agentops.ActionEvent(action_type=f"a{i}"))
    assert session.end_session("Success") is not None
    assert len(transport.events) == 10
    assert agentops.get_client().dropped_events == dropped


def test_expired_token_is_renewed_by_recreating_the_session() -> None:
    transport = InMemoryTransport()
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    assert session is not None
    assert agentops.flush()
    transport.fail_next(401)
    session.record(agentops.ActionEvent(action_type="after-401"))
    session.end_session("Success")
    assert [e["action_type"] for e in transport.events] == ["after-401"]
    creates = [p for p, _ in transport.requests if p.endswith("create_session")]
    assert len(creates) == 2


def test_invalid_api_key_on_the_server_is_reported_not_raised(server: ServerProcess) -> None:
    session = agentops.init(
        api_key=str(uuid.uuid4()), endpoint=server.url, instrument_llm_calls=False
    )
    assert session is not None
    session.record(agentops.ActionEvent(action_type="nowhere"))
    assert session.end_session("Success") is None


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
        payload = b'{"status":"success","jwt":"t"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_http_transport_gzips_large_bodies_and_reports_no_answer() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v2/create_events"
        transport = HttpTransport(timeout=5)
        big = json.dumps({"events": ["x" * 5000]}).encode()
        res = transport.send(Request(url=url, path="/v2/create_events", body=big))
        assert res.status == 200 and res.json() == {"status": "success", "jwt": "t"}
        transport.send(Request(url=url, path="/v2/create_events", body=b"{}"))
        (h1, b1), (h2, b2) = Recorder.seen[-2:]
        assert h1["content-encoding"] == "gzip" and gzip.decompress(b1) == big
        assert "content-encoding" not in h2 and b2 == b"{}"
        transport.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    dead = f"http://127.0.0.1:{free_port()}/v2/create_events"
    try:
        HttpTransport(timeout=2).send(Request(url=dead, path="/v2/create_events", body=b"{}"))
    except TransportError:
        pass
    else:
        raise AssertionError("no TransportError for a closed port")


def test_one_worker_thread_for_all_sessions(server: ServerProcess) -> None:
    def workers() -> int:  # earlier tests' clients may still have theirs
        return sum(t.name == "agentops-worker" for t in threading.enumerate())

    before = workers()
    start(server)
    started = workers()
    for _ in range(5):
        agentops.start_session()
    assert workers() == started <= before + 1
    client = agentops.get_client()
    assert isinstance(client, agentops.Client) and client.worker.pending() >= 0


def test_a_program_logging_at_info_gets_no_line_per_request_the_sdk_sends(
    server: ServerProcess,
) -> None:
    """httpx logs every request at INFO: the SDK's own sends stay out of the program's logs,
    the program's own httpx requests (on any thread) stay in."""
    handler = LogLines()
    logger = logging.getLogger("httpx")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        session = start(server)
        agentops.record(agentops.ActionEvent(action_type="step"))
        agentops.end_session("Success")
        assert stats(server, session.session_id)["events"] == 1  # the SDK did send
        assert [line for line in handler.lines if "POST" in line] == []

        httpx.get(f"{server.url}/health")
        mine = threading.Thread(target=lambda: httpx.get(f"{server.url}/health"))
        mine.start()
        mine.join()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert len([line for line in handler.lines if "GET" in line and "/health" in line]) == 2
