"""Bad input to the OTLP receiver (POST /v1/traces) and the agentops 0.4 auth exchange
(POST /v3/auth/token): the right status in the request's content type, never a 500, and
nothing already stored is harmed, least of all another project's trace."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_server.auth.keys import hash_key
from agentops_server.config import ServerConfig
from tests.server.conftest import LiveServer, running
from tests.support import otlp_json
from tests.support.otlp import SpanSpec, trace_request
from tests.support.otlp_json import STATUS_OK, Span
from tests.support.server import free_port

PROTOBUF = "application/x-protobuf"


def send(
    live: LiveServer, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    all_headers = {"Content-Type": content_type, **(headers or {})}
    return live.client.post(f"{live.url}/v1/traces", content=body, headers=all_headers)


def send_spans(live: LiveServer, spans: list[Span], headers: dict[str, str]) -> httpx.Response:
    raw = json.dumps(otlp_json.export_request(spans)).encode()
    return send(live, raw, "application/json", headers)


def answered_in(res: httpx.Response, status: int, content_type: str) -> None:
    """The status, in the request's content type; in JSON, a google.rpc.Status with a message."""
    assert res.status_code == status, (res.status_code, res.text)
    assert res.headers["content-type"].startswith(content_type), res.headers
    if content_type == "application/json":
        assert isinstance(res.json()["message"], str) and res.json()["message"], res.text


def stored_trace(live: LiveServer) -> tuple[str, Span, Span]:
    """A finished trace of the live server's project: (session id, root, child)."""
    root = Span(trace_id=otlp_json.new_trace_id(), name="owned-run", status_code=STATUS_OK)
    child = root.child("step", start_ns=root.start_ns + 1000, end_ns=root.start_ns + 2000)
    root.end_ns = root.start_ns + 3000
    assert send_spans(live, [child, root], live.key_headers()).status_code == 200
    session_id = otlp_json.session_id(root.trace_id)
    wait_until_stored(live, session_id, lambda e: e["stats"]["events"] == 1)
    return session_id, root, child


def wait_until_stored(live: LiveServer, session_id: str, ready: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        res = live.get(f"/v2/sessions/{session_id}/export")
        if res.status_code == 200 and ready(res.json()):
            body: dict[str, Any] = res.json()
            return body
        assert time.monotonic() < deadline, res.text
        time.sleep(0.1)


def test_garbage_protobuf_is_400_answered_in_protobuf(live: LiveServer) -> None:
    # field 1 (resource_spans), length-delimited, claiming far more bytes than follow
    garbage = b"\x0a\xff\xff\xff\x0f\x01\x02"
    res = send(live, garbage, PROTOBUF, live.key_headers())
    answered_in(res, 400, PROTOBUF)


def test_undecodable_json_is_400_answered_in_json(live: LiveServer) -> None:
    for body in (b'{"resourceSpans": [', b"\xff\xfe", b'{"resourceSpans": "no"}'):
        res = send(live, body, "application/json", live.key_headers())
        answered_in(res, 400, "application/json")


def test_a_corrupt_gzip_body_is_400(live: LiveServer) -> None:
    headers = {**live.key_headers(), "Content-Encoding": "gzip"}
    answered_in(send(live, b"not gzip", PROTOBUF, headers), 400, PROTOBUF)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_an_unsupported_content_type_is_415(live: LiveServer, content_type: str) -> None:
    root = Span(trace_id=otlp_json.new_trace_id(), name="run")
    raw = json.dumps(otlp_json.export_request([root])).encode()
    res = send(live, raw, content_type, live.key_headers())
    assert res.status_code == 415, res.text
    session_id = otlp_json.session_id(root.trace_id)
    assert live.get(f"/v2/sessions/{session_id}/stats").status_code == 404


def test_a_body_inflating_past_the_limit_is_413(live: LiveServer) -> None:
    bomb = gzip.compress(b"\x00" * (live.config.max_body_bytes + 10))
    assert len(bomb) < live.config.max_body_bytes // 100
    headers = {**live.key_headers(), "Content-Encoding": "gzip"}
    answered_in(send(live, bomb, PROTOBUF, headers), 413, PROTOBUF)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Agentops-Api-Key": str(uuid.uuid4())},
        {"Authorization": f"Bearer {uuid.uuid4()}"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic abc"},
    ],
    ids=["no key", "unknown key", "unknown bearer key", "garbage token", "basic auth"],
)
def test_a_missing_or_wrong_key_is_401_and_nothing_is_stored(
    live: LiveServer, headers: dict[str, str]
) -> None:
    root = Span(trace_id=otlp_json.new_trace_id(), name="run", status_code=STATUS_OK)
    res = send_spans(live, [root], headers)
    answered_in(res, 401, "application/json")
    assert live.get(f"/v2/sessions/{otlp_json.session_id(root.trace_id)}/stats").status_code == 404


def test_a_revoked_key_is_401_as_header_and_as_bearer(live: LiveServer) -> None:
    revoked = live.new_key()
    record = live.store.find_api_key(hash_key(revoked))
    assert record is not None
    live.store.revoke_api_key(record.id)
    root = Span(trace_id=otlp_json.new_trace_id(), name="run", status_code=STATUS_OK)
    for headers in ({"X-Agentops-Api-Key": revoked}, {"Authorization": f"Bearer {revoked}"}):
        answered_in(send_spans(live, [root], headers), 401, "application/json")
    assert live.get(f"/v2/sessions/{otlp_json.session_id(root.trace_id)}/stats").status_code == 404


def test_the_auth_exchange_gives_a_token_for_an_active_key_only(live: LiveServer) -> None:
    res = live.post("/v3/auth/token", {"api_key": live.api_key})
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) >= {"token", "project_id", "project_prem_status"}
    assert body["token"] and body["project_id"] == live.project_id

    assert live.post("/v3/auth/token", {"api_key": str(uuid.uuid4())}).status_code == 401
    revoked = live.new_key()
    record = live.store.find_api_key(hash_key(revoked))
    assert record is not None
    live.store.revoke_api_key(record.id)
    assert live.post("/v3/auth/token", {"api_key": revoked}).status_code == 401


def test_logs_and_metrics_are_accepted(live: LiveServer) -> None:
    for path in ("/v1/logs", "/v1/metrics"):
        res = live.client.post(
            live.url + path,
            content=b"{}",
            headers={**live.key_headers(), "Content-Type": "application/json"},
        )
        assert res.status_code == 200, (path, res.text)


@pytest.mark.parametrize("engine", ["live", "pg_live"])
def test_another_projects_key_or_token_cannot_touch_a_trace(
    request: pytest.FixtureRequest, engine: str
) -> None:
    live: LiveServer = request.getfixturevalue(engine)
    session_id, root, child = stored_trace(live)
    before = live.get(f"/v2/sessions/{session_id}/export").json()

    other = live.store.create_project("Other")
    other_key = live.new_key(other.id)
    token = live.post("/v3/auth/token", {"api_key": other_key}).json()["token"]
    intruder = root.child("injected", start_ns=root.start_ns + 1500, end_ns=root.start_ns + 1600)
    rewritten_root = Span(
        trace_id=root.trace_id, name="hijacked", span_id=root.span_id, start_ns=root.start_ns
    )
    rewritten_root.exception("RuntimeError", "not yours")
    rewritten_child = Span(
        trace_id=root.trace_id,
        name="step",
        span_id=child.span_id,
        parent_id=root.span_id,
        attributes={"agentops.tags": ["hijacked"]},
    )
    for headers in (
        {"X-Agentops-Api-Key": other_key},
        {"Authorization": f"Bearer {other_key}"},
        {"Authorization": f"Bearer {token}"},
    ):
        res = send_spans(live, [intruder, rewritten_child, rewritten_root], headers)
        # refused as OTLP asks for data the client must not retry: 200, partial_success
        assert res.status_code == 200, res.text
        rejected = res.json()["partialSuccess"]
        assert int(rejected["rejectedSpans"]) == 3 and rejected["errorMessage"], rejected

    # a later request of the owner is stored: the intruder's would have been by now
    _, later_root, _ = stored_trace(live)
    assert later_root.trace_id != root.trace_id
    assert live.get(f"/v2/sessions/{session_id}/export").json() == before
    for path in (f"/v2/sessions/{session_id}/stats", f"/v2/sessions/{session_id}/export"):
        assert live.get(path, headers={"X-Agentops-Api-Key": other_key}).status_code == 404


def test_a_span_that_is_its_own_parent_is_400_and_the_server_goes_on(live: LiveServer) -> None:
    root = Span(trace_id=otlp_json.new_trace_id(), name="run")
    looped = root.child("looped")
    looped.parent_id = looped.span_id
    res = send_spans(live, [looped], live.key_headers())
    answered_in(res, 400, "application/json")
    assert "own parent" in res.json()["message"]
    spec = SpanSpec("looped", root.trace_id, span_id=looped.span_id, parent=looped.span_id)
    res = send(live, trace_request([spec]).SerializeToString(), PROTOBUF, live.key_headers())
    answered_in(res, 400, PROTOBUF)
    stored_trace(live)  # the receiver still stores the next trace


def test_spans_that_are_each_others_parents_are_stored_without_hanging(
    live: LiveServer,
) -> None:
    root = Span(trace_id=otlp_json.new_trace_id(), name="run")
    first = root.child("first")
    second = first.child("second")
    first.parent_id = second.span_id  # a cycle no tree has: both kept, neither under an agent
    assert send_spans(live, [first, second], live.key_headers()).status_code == 200
    session_id = otlp_json.session_id(root.trace_id)
    body = wait_until_stored(live, session_id, lambda e: e["stats"]["events"] == 2)
    assert {e["agent_id"] for e in body["actions"]} == {None}
    stored_trace(live)


def test_times_and_integers_out_of_64_bits_are_400(live: LiveServer) -> None:
    root = Span(trace_id=otlp_json.new_trace_id(), name="run")
    for field, value in (
        ("startTimeUnixNano", "99999999999999999999999999"),
        ("endTimeUnixNano", "-99999999999999999999"),
        ("startTimeUnixNano", 1e300),
    ):
        body = otlp_json.export_request([root])
        body["resourceSpans"][0]["scopeSpans"][0]["spans"][0][field] = value
        res = send(live, json.dumps(body).encode(), "application/json", live.key_headers())
        answered_in(res, 400, "application/json")
        assert field in res.json()["message"] and "64-bit" in res.json()["message"]
    body = otlp_json.export_request([root])
    attribute = {"key": "n", "value": {"intValue": str(2**70)}}
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] = [attribute]
    res = send(live, json.dumps(body).encode(), "application/json", live.key_headers())
    answered_in(res, 400, "application/json")
    stored_trace(live)


def _nested_value(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"intValue": "1"}
    for _ in range(depth):
        value = {"arrayValue": {"values": [value]}}
    return value


def test_attributes_nested_too_deep_are_400_even_without_a_key(live: LiveServer) -> None:
    """Deeper than binary OTLP can nest: refused, also for agentops 0.4's token-less spans
    (which are held as JSON until their token comes)."""
    for depth, status in ((64, 200), (65, 400), (300, 400)):
        span = Span(trace_id=otlp_json.new_trace_id(), name="run")
        body = otlp_json.export_request([span])
        body["resourceSpans"][0]["resource"]["attributes"].append(
            {"key": "agentops.project.id", "value": {"stringValue": "temporary"}}
        )
        attribute = {"key": "deep", "value": _nested_value(depth)}
        body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] = [attribute]
        raw = json.dumps(body).encode()
        for headers in ({}, live.key_headers()):
            res = send(live, raw, "application/json", headers)
            if status == 200:
                assert res.status_code == 200, res.text
            else:
                answered_in(res, status, "application/json")
                assert "nests deeper than 64" in res.json()["message"]


def test_json_text_nested_too_deep_is_kept_as_text(live: LiveServer) -> None:
    """An LLM span's messages as a JSON string nested far deeper than any real chat: stored
    as the string it came as, in the span and in /v1/logs, not a 500."""
    deep = "[" * 1000 + "]" * 1000
    root = Span(trace_id=otlp_json.new_trace_id(), name="run")
    chat = root.child("chat gpt-4o", kind=otlp_json.SPAN_KIND_CLIENT, attributes={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
        "gen_ai.input.messages": deep, "gen_ai.usage.input_tokens": 3,
        "gen_ai.usage.output_tokens": 2})  # fmt: skip
    later = root.child("chat gpt-4o", kind=otlp_json.SPAN_KIND_CLIENT, attributes={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})  # fmt: skip
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "traceId": root.trace_id, "spanId": later.span_id,
        "eventName": "gen_ai.client.inference.operation.details",
        "attributes": otlp_json.attributes({
            "gen_ai.input.messages": "[" * 300 + "]" * 300,
            "gen_ai.output.messages": deep})}]}]}]}  # fmt: skip
    res = live.client.post(
        live.url + "/v1/logs", content=json.dumps(logs).encode(),
        headers={**live.key_headers(), "Content-Type": "application/json"},
    )  # fmt: skip
    assert res.status_code == 200, res.text  # before its span: held until the span comes
    assert send_spans(live, [chat, later, root], live.key_headers()).status_code == 200
    session_id = otlp_json.session_id(root.trace_id)
    body = wait_until_stored(live, session_id, lambda e: e["stats"]["events"] == 2)
    by_id = {event["id"]: event for event in body["llms"]}
    assert deep in json.dumps(by_id[chat.span_id]["prompt"])
    assert deep in json.dumps(by_id[later.span_id]["completion"])


def _tokenless_spans(spans: list[Span]) -> bytes:
    """agentops 0.4's first export: its spans before its token, under a "temporary" project."""
    body = otlp_json.export_request(spans)
    body["resourceSpans"][0]["resource"]["attributes"].append(
        {"key": "agentops.project.id", "value": {"stringValue": "temporary"}}
    )
    return json.dumps(body).encode()


def _user_messages(messages: list[tuple[str, str, str]]) -> bytes:
    """GenAI user messages as log records: (trace id, span id, content) each."""
    records = [
        {
            "traceId": trace_id,
            "spanId": span_id,
            "eventName": "gen_ai.user.message",
            "body": {
                "kvlistValue": {"values": [{"key": "content", "value": {"stringValue": content}}]}
            },
        }  # fmt: skip
        for trace_id, span_id, content in messages
    ]
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}).encode()


def _waiting_log_content(trace_ids: list[str], size: int) -> bytes:
    """GenAI message content for spans that have not arrived (it waits for them)."""
    return _user_messages([(t, otlp_json.new_span_id(), "x" * size) for t in trace_ids])


def test_what_waits_is_bounded_per_owner_so_one_project_cannot_block_another(
    tmp_path: Path,
) -> None:
    """Log content waiting for its spans counts against its own project's budget, and spans
    waiting for their client's token against the token-less clients' one: a project that
    sends content for spans that never come fills only its own (its later logs get 503, the
    exporter retries), and never stops another project's agentops 0.4 clients from starting."""
    environ = {"AGENTOPS_OTLP_PENDING_BYTES": "100000"}
    config = ServerConfig.build(data_dir=tmp_path / "data", port=free_port(), environ=environ)
    with running(config) as live:
        noisy = live.store.create_project("Noisy")
        other_key = live.new_key(noisy.id)
        logs_headers = {"Content-Type": "application/json", "X-Agentops-Api-Key": other_key}
        answers = []
        for _ in range(4):  # 4 x 40 KB of content for spans that never come
            body = _waiting_log_content([otlp_json.new_trace_id() for _ in range(4)], 10_000)
            res = live.client.post(f"{live.url}/v1/logs", content=body, headers=logs_headers)
            answers.append(res.status_code)
        assert answers == [200, 200, 503, 503], answers
        assert "this project's log content" in res.json()["message"]
        assert 0 < live.store.pending_bytes(noisy.id) <= 100_000

        # a token-less client still gets its early spans held, up to its own budget
        first = Span(trace_id=otlp_json.new_trace_id(), name="session.init")
        early = send(live, _tokenless_spans([first]), "application/json")
        assert early.status_code == 200, early.text
        assert live.store.pending_bytes() > 0


def test_a_tokenless_request_reports_the_spans_it_could_not_hold(live: LiveServer) -> None:
    """Without a key, spans of a trace whose session exists are refused (nobody without a
    key adds to a session) while those of a new trace are held: the answer says which were
    refused (it was a plain 200, and they were silently lost)."""
    session_id, root, _ = stored_trace(live)
    late = root.child("late-step", start_ns=root.start_ns + 100)
    first = Span(trace_id=otlp_json.new_trace_id(), name="session.init")
    res = send(live, _tokenless_spans([first, late]), "application/json")
    assert res.status_code == 200, res.text
    partial = res.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert root.trace_id in partial["errorMessage"] and "key" in partial["errorMessage"]
    assert live.store.pending_bytes() > 0  # the new trace's span waits for its token
    only_old = send(live, _tokenless_spans([late]), "application/json")
    assert only_old.status_code == 401 and "session exists" in only_old.text  # all refused


def test_log_content_refused_for_the_budget_is_not_merged_before(tmp_path: Path) -> None:
    """A /v1/logs request refused with 503 (its project's waiting content is at the limit)
    changes nothing: the exporter sends it again, and content merged into a stored call
    before the refusal was merged once more at each try."""
    config = ServerConfig.build(
        data_dir=tmp_path / "data",
        port=free_port(),
        environ={"AGENTOPS_OTLP_PENDING_BYTES": "100000"},
    )
    with running(config) as live:
        root = Span(trace_id=otlp_json.new_trace_id(), name="run", status_code=STATUS_OK)
        chat = root.child("chat gpt-4o", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 2})  # fmt: skip
        assert send_spans(live, [chat, root], live.key_headers()).status_code == 200
        headers = {"Content-Type": "application/json", **live.key_headers()}
        waiting = _waiting_log_content([otlp_json.new_trace_id() for _ in range(8)], 10_000)
        assert (
            live.client.post(f"{live.url}/v1/logs", content=waiting, headers=headers).status_code
            == 200
        )
        mixed = _user_messages([
            (root.trace_id, chat.span_id, "hello"),
            (otlp_json.new_trace_id(), otlp_json.new_span_id(), "y" * 20_000)])  # fmt: skip
        for _ in range(3):  # the exporter's retries
            res = live.client.post(f"{live.url}/v1/logs", content=mixed, headers=headers)
            assert res.status_code == 503, res.text
        session_id = otlp_json.session_id(root.trace_id)
        (call,) = wait_until_stored(live, session_id, lambda e: len(e["llms"]) == 1)["llms"]
        assert "hello" not in json.dumps(call["prompt"]), call["prompt"]
