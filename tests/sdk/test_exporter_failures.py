"""The exporter facing servers that misbehave in less common ways: a key revoked mid-session,
a failure right after another, mixed refusals while isolating a 500, odd answer bodies, and
a retry budget that runs out. Nothing blocks the host; whatever is lost is counted."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

import agentops
from agentops import wire
from agentops._exporter import Exporter
from agentops._outcome import BatchResult, Outcome
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import LogLines
from tests.support.loopback_http import LoopbackHTTPServer


def started(transport: InMemoryTransport) -> agentops.Session:
    """A session whose creation the server has already answered."""
    session = agentops.init(
        api_key=str(uuid.uuid4()), transport=transport, instrument_llm_calls=False
    )
    assert session is not None
    assert agentops.flush()
    return session


def dropped() -> int:
    return agentops.get_client().dropped_events


def test_a_key_revoked_mid_session_drops_and_counts_without_blocking(
    agentops_log: LogLines,
) -> None:
    transport = InMemoryTransport()
    session = started(transport)
    before = dropped()
    transport.fail_next(401, 401)  # the token, then the key itself, are refused
    session.record(agentops.ActionEvent(action_type="refused"))
    assert agentops.flush()
    session.record(agentops.ActionEvent(action_type="after"))
    session.create_agent("late agent")
    assert session.end_session("Success") is None  # the server never confirmed the end
    assert "| Cost: unknown (the server did not confirm the end) |" in agentops_log.text
    assert session.get_analytics()["Cost"] == "unknown"
    assert transport.events == [] and transport.agents == []
    assert dropped() - before == 2


def test_a_lone_500_right_after_a_failure_is_an_outage_not_a_bad_event() -> None:
    transport = InMemoryTransport()
    session = started(transport)
    before = dropped()
    transport.fail_next(400)  # refused: the last answer the exporter saw was a failure
    session.record(agentops.ActionEvent(action_type="refused"))
    assert agentops.flush()
    transport.fail_next(500, 500, 500)
    session.record(agentops.ActionEvent(action_type="kept"))
    assert session.end_session("Success") is not None
    assert [e["action_type"] for e in transport.events] == ["kept"]
    assert dropped() - before == 1


def test_halves_refused_for_another_reason_are_split_again_not_dropped() -> None:
    transport = InMemoryTransport()
    session = started(transport)
    before = dropped()
    transport.fail_next(500, 500, 500, 413, 413)  # then each half is too large
    for i in range(4):
        session.record(agentops.ActionEvent(action_type=f"a{i}"))
    assert session.end_session("Success") is not None
    assert sorted(e["action_type"] for e in transport.events) == ["a0", "a1", "a2", "a3"]
    assert dropped() == before


def test_a_retry_budget_that_runs_out_is_a_dropped_batch_holding_its_events() -> None:
    transport = InMemoryTransport()
    session = started(transport)
    exporter = Exporter(max_retry_seconds=0.3)
    assert exporter.create_session(session)
    transport.fail_next(*[0] * 50)  # nobody answers
    (result,) = exporter.send_events(session, [agentops.ActionEvent(action_type="late")])
    transport.clear_failures()
    assert (result.outcome, result.count) == (Outcome.DROPPED, 1)
    assert result.reason == "create_events failed: no answer from the server"
    assert result.session_id == str(session.session_id)
    assert [e["action_type"] for e in result.events or []] == ["late"]
    assert session.end_session("Success") is not None
    assert transport.events == []


def test_the_worker_counts_each_batch_result_and_tells_its_listeners(
    agentops_log: LogLines,
) -> None:
    transport = InMemoryTransport()
    session = started(transport)
    client = agentops.get_client()
    assert isinstance(client, agentops.Client)
    seen: list[BatchResult] = []
    client.worker.add_listener(seen.append)
    before = dropped()
    transport.fail_next(422)  # the one event of the batch is refused
    session.record(agentops.ActionEvent(action_type="refused"))
    assert agentops.flush(10)
    session.record(agentops.ActionEvent(action_type="kept"))
    assert session.end_session("Success") is not None
    refused = [r for r in seen if r.outcome is Outcome.REFUSED]
    why = "create_events failed: HTTP 422: simulated failure"
    assert [(r.count, r.reason) for r in refused] == [(1, why)]
    assert [e["action_type"] for e in refused[0].events or []] == ["refused"]
    assert [r.count for r in seen if r.outcome is Outcome.SENT] == [1]
    assert dropped() - before == 1
    assert client.worker.counts[Outcome.SENT] >= 1
    assert client.worker.lost_reasons[why] == 1
    assert "1 event(s) refused: create_events failed: HTTP 422" in agentops_log.text


class OddServer(BaseHTTPRequestHandler):
    """Speaks the protocol, but refuses events in the {error: {code, message}} shape and
    confirms a session's end with a bare string."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answers: dict[str, tuple[int, Any]] = {
            wire.CREATE_SESSION: (200, {"status": "success", "jwt": "t"}),
            wire.CREATE_EVENTS: (400, {"error": {"code": "invalid", "message": "bad event"}}),
            wire.UPDATE_SESSION: (200, "Success"),
        }
        status, payload = answers.get(self.path, (404, {"message": "no such path"}))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def odd_server() -> Iterator[str]:
    httpd = LoopbackHTTPServer(("127.0.0.1", 0), OddServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_odd_answer_bodies_are_reported_and_tolerated(
    odd_server: str, agentops_log: LogLines
) -> None:
    session = agentops.init(
        api_key=str(uuid.uuid4()), endpoint=odd_server, instrument_llm_calls=False
    )
    assert session is not None
    before = dropped()
    session.record(agentops.ActionEvent(action_type="refused"))
    assert agentops.flush()
    assert dropped() - before == 1
    assert "create_events failed: HTTP 400: bad event" in agentops_log.text
    assert session.end_session("Success") == 0  # confirmed, without a cost
