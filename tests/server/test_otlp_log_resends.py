"""A /v1/logs request that an OTLP exporter sends again (it timed out after the server had
stored it, or the connection dropped; the exporter retries the identical body) adds nothing:
GenAI content from log records joins its span's event once per record, whether the span was
stored before or the content waited for it. Distinct records are all kept, in order, even
with the same text. On both engines, in protobuf and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from agentops_server.storage.records import PendingOtlp
from tests.server.conftest import LiveServer, llm
from tests.server.test_otlp_emitters import found_by
from tests.server.test_otlp_ingest import PROTOBUF, export, live, messages, send
from tests.support.otlp import T0_NS, chat_trace, key_values, session_of

__all__ = ["live"]  # the fixture: SQLite and PostgreSQL

DETAILS = "gen_ai.client.inference.operation.details"
USER = "gen_ai.user.message"
ENCODINGS = ["protobuf", "json"]


@dataclass(frozen=True)
class Log:
    """One GenAI log record of the chat span: openai-v2's details event (the text is the
    prompt, "re: text" the answer) or a per-message event (the text is its content)."""

    event: str
    text: str
    time_ns: int = 0
    observed_ns: int = 0

    def attributes(self) -> dict[str, str]:
        if self.event != DETAILS:
            return {}
        return {
            "gen_ai.input.messages": messages("user", self.text),
            "gen_ai.output.messages": messages("assistant", f"re: {self.text}"),
        }


def log_request(encoding: str, trace_id: str, span_id: str, logs: list[Log]) -> bytes:
    """One export request holding `logs`, as the OTLP log exporter encodes it."""
    if encoding == "json":
        return _json_request(trace_id, span_id, logs)
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    for log in logs:
        record = scope.log_records.add()
        record.trace_id, record.span_id = bytes.fromhex(trace_id), bytes.fromhex(span_id)
        record.time_unix_nano, record.observed_time_unix_nano = log.time_ns, log.observed_ns
        record.event_name = log.event
        record.attributes.extend(key_values(log.attributes()))
        if log.event != DETAILS:
            kv = record.body.kvlist_value.values.add()
            kv.key, kv.value.string_value = "content", log.text
    return request.SerializeToString()


def _json_request(trace_id: str, span_id: str, logs: list[Log]) -> bytes:
    records: list[dict[str, Any]] = []
    for log in logs:
        record: dict[str, Any] = {
            "timeUnixNano": str(log.time_ns),
            "observedTimeUnixNano": str(log.observed_ns),
            "traceId": trace_id,
            "spanId": span_id,
            "eventName": log.event,
            "attributes": [
                {"key": k, "value": {"stringValue": v}} for k, v in log.attributes().items()
            ],
        }
        if log.event != DETAILS:
            content = {"key": "content", "value": {"stringValue": log.text}}
            record["body"] = {"kvlistValue": {"values": [content]}}
        records.append(record)
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}).encode()


def post_logs(live: LiveServer, encoding: str, body: bytes) -> None:
    content_type = PROTOBUF if encoding == "protobuf" else {"Content-Type": "application/json"}
    headers = {**content_type, "X-Agentops-Api-Key": live.api_key}
    res = live.client.post(live.url + "/v1/logs", content=body, headers=headers)
    assert res.status_code == 200, res.text


def stored_call(live: LiveServer, trace_id: str) -> tuple[list[str], list[str]]:
    """The contents of the trace's one LLM call: (prompt, completion) texts, in order."""
    (llm,) = export(live, trace_id)["llms"]
    texts = []
    for field in ("prompt", "completion"):
        found = llm[field]["messages"] if llm[field] else []
        if isinstance(found, dict):  # a completion of one choice: its message
            found = [found]
        texts.append([m["content"] for m in found])
    return texts[0], texts[1]


def at(n: int) -> tuple[int, int]:
    """The times of the OTel SDK's n-th record: its timestamp, and when it was observed."""
    return T0_NS + n * 1_000_000, T0_NS + n * 1_000_000 + 5_000


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_log_request_sent_again_adds_nothing_to_a_stored_call(
    live: LiveServer, encoding: str
) -> None:
    span_id, spans = chat_trace()
    trace_id = spans[0].trace_id
    assert send(live, spans).status_code == 200
    body = log_request(encoding, trace_id, span_id, [Log(DETAILS, "hello", *at(1))])
    for _ in range(3):  # the first send, then the exporter's retries
        post_logs(live, encoding, body)
        assert stored_call(live, trace_id) == (["hello"], ["re: hello"])


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_log_request_sent_again_while_it_waits_for_its_span_is_merged_once(
    live: LiveServer, encoding: str
) -> None:
    """Sent twice before its span arrives (both copies wait), then once more after."""
    span_id, spans = chat_trace()
    trace_id = spans[0].trace_id
    body = log_request(encoding, trace_id, span_id, [Log(DETAILS, "hello", *at(1))])
    post_logs(live, encoding, body)
    post_logs(live, encoding, body)
    assert send(live, spans).status_code == 200
    assert stored_call(live, trace_id) == (["hello"], ["re: hello"])
    post_logs(live, encoding, body)
    assert stored_call(live, trace_id) == (["hello"], ["re: hello"])
    assert live.store.pending_bytes(live.project_id) == 0
    # the event lists the record it took; that key is no word a session is found by
    (event,) = live.store.get_events(session_of(trace_id), [span_id])
    (key,) = event.payload["content_log_records"]
    assert found_by(live, key) == [] and found_by(live, "hello") == [session_of(trace_id)]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_distinct_log_records_with_the_same_text_are_all_kept(
    live: LiveServer, encoding: str
) -> None:
    """A user who says "hello" several times: records that differ only in their timestamp or
    their observed time are distinct, and so are two identical records of one request (an
    emitter that sets no time); each is kept, in order, and resending any request adds
    nothing, before or after the span arrives."""
    (t1, o1), (t2, o2) = at(1), at(2)
    for span_first in (True, False):
        span_id, spans = chat_trace()
        trace_id = spans[0].trace_id
        requests = [
            [Log(USER, "hello", t1, o1), Log(USER, "hello", t2, o2)],  # another timestamp
            [Log(USER, "hello", t1, o1 + 1)],  # the same timestamp, observed later
            [Log(USER, "yes"), Log(USER, "yes")],  # no times: their place in the request
            [Log(DETAILS, "hello", t1, o1)],  # the same times, another event
        ]
        bodies = [log_request(encoding, trace_id, span_id, logs) for logs in requests]
        if span_first:
            assert send(live, spans).status_code == 200
        for body in bodies:
            post_logs(live, encoding, body)
        for body in bodies[::-1]:  # the exporter's retries
            post_logs(live, encoding, body)
        if not span_first:
            assert send(live, spans).status_code == 200
            for body in bodies:
                post_logs(live, encoding, body)
        prompt, completion = stored_call(live, trace_id)
        assert prompt == ["hello", "hello", "hello", "yes", "yes", "hello"], span_first
        assert completion == ["re: hello"], span_first


def test_content_held_before_record_keys_still_joins_its_span(live: LiveServer) -> None:
    """Log content waiting in the store when the server is upgraded was held without record
    keys ({span id: {"prompt": ...}}): it joins its span as before, a copy of it once."""
    span_id, spans = chat_trace()
    trace_id = spans[0].trace_id
    old = {span_id: {"prompt": [{"role": "user", "content": "hello"}]}}
    row = PendingOtlp(trace_id, live.project_id, "logs", json.dumps(old), datetime.now(UTC))
    live.store.hold_pending([row, row])
    assert send(live, spans).status_code == 200
    assert stored_call(live, trace_id) == (["hello"], [])


def test_a_v2_event_holding_the_merge_bookkeeping_fields_takes_log_content_without_a_500(
    live: LiveServer,
) -> None:
    """A v2 client may send any field in an event, content_log_records and content_from_logs
    included: log content for that event (its id as a span id, its session's id as a trace
    id) was a 500 when they held something other than a list."""
    session_id, jwt = live.start_session()
    event_id = "aaaaaaaaaaaaaaaa"
    odd = llm(id=event_id, prompt=None, content_log_records=5, content_from_logs="prompt")
    assert live.send_events(jwt, [odd]).status_code == 200
    trace_id = session_id.replace("-", "")
    post_logs(live, "protobuf", log_request("protobuf", trace_id, event_id, [Log(DETAILS, "hi")]))
    (stored,) = live.get(f"/v2/sessions/{session_id}/export").json()["llms"]
    assert [m["content"] for m in stored["prompt"]["messages"]] == ["hi"]
