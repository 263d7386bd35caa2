"""Binary OTLP (what the agentops 0.4 SDK sends) decodes to plain span and log records."""

from __future__ import annotations

import base64

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord

from agentops_server.ingest.otlp.decode import decode_logs, decode_traces
from agentops_server.ingest.otlp.spans import Span
from tests.server.ingest.otlp import wire

PROTOBUF = "application/x-protobuf"


def decode(request: ExportTraceServiceRequest) -> list[Span]:
    return decode_traces(request.SerializeToString(), PROTOBUF)


def test_ids_become_lowercase_hex_and_a_root_has_no_parent() -> None:
    root = wire.span("root", span_id=wire.ROOT_ID)
    child = wire.span("child", parent=wire.ROOT_ID)
    zero_parent = wire.span("zero-parent", span_id=b"\x01" * 8, parent=bytes(8))
    spans = decode(wire.traces(("s", [root, child, zero_parent])))
    assert [(s.trace_id, s.span_id, s.parent_span_id) for s in spans] == [
        ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b173", None),
        ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "eee19b7ec3c1b173"),
        ("5b8efff798038103d269b633813fc60c", "0101010101010101", None),
    ]


def test_span_fields_are_kept() -> None:
    pb = wire.span("openai.chat.completion", kind=3, status=(2, "NotFoundError: Error code: 404"))
    (span,) = decode(wire.traces(("openai", [pb])))
    assert (span.name, span.kind, span.status_code, span.status_message) == (
        "openai.chat.completion",
        3,
        2,
        "NotFoundError: Error code: 404",
    )
    assert (span.start_ns, span.end_ns) == (wire.T0, wire.T0 + 1_000_000)
    assert (span.scope_name, span.scope_version) == ("openai", "1.0")


def test_every_attribute_value_type_is_converted() -> None:
    attrs = {
        "s": "text",
        "empty": "",
        "b": True,
        "f": False,
        "i": -7,
        "zero": 0,
        "big": 2**63 - 1,
        "d": 0.25,
        "arr": ["a", 1, [True]],
        "kv": {"inner": {"deeper": 1.5}, "n": None},
        "raw": b"\x00\xffbytes",
        "unset": None,
    }
    (span,) = decode(wire.traces(("s", [wire.span(attrs=attrs)])))
    assert span.attributes == {
        **attrs,
        "raw": base64.b64encode(b"\x00\xffbytes").decode(),
    }
    assert type(span.attributes["b"]) is bool and type(span.attributes["zero"]) is int


def test_events_keep_name_time_and_attributes() -> None:
    events = [("exception", {"exception.type": "RuntimeError", "exception.escaped": "False"})]
    (span,) = decode(wire.traces(("s", [wire.span(events=events)])))
    (event,) = span.events
    assert (event.name, event.time_ns) == ("exception", wire.T0)
    assert event.attributes == {"exception.type": "RuntimeError", "exception.escaped": "False"}


def test_all_spans_of_a_resource_share_one_resource_dict() -> None:
    resource = {"service.name": "agentops", "agentops.project.id": "temporary"}
    request = wire.traces(
        ("openai", [wire.span(span_id=b"\x01" * 8)]),
        ("agentops", [wire.span(span_id=b"\x02" * 8), wire.span(span_id=b"\x03" * 8)]),
        resource=resource,
    )
    spans = decode(request)
    assert spans[0].resource == resource
    assert all(s.resource is spans[0].resource for s in spans)
    assert [s.scope_name for s in spans] == ["openai", "agentops", "agentops"]


def test_an_empty_request_has_no_spans() -> None:
    assert decode_traces(b"", PROTOBUF) == []


def test_log_records_link_to_their_span_and_carry_the_event_name() -> None:
    record = PbLogRecord(
        time_unix_nano=wire.T0,
        event_name="gen_ai.client.inference.operation.details",
        trace_id=wire.TRACE_ID,
        span_id=wire.CHILD_ID,
        body=wire.any_value({"content": "hi"}),
        attributes=wire.key_values({"gen_ai.input.messages": [{"role": "user"}]}),
    )
    (log,) = decode_logs(wire.logs(record, resource={"service.name": "app"}), PROTOBUF)
    assert (log.trace_id, log.span_id) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    assert (log.time_ns, log.observed_ns, log.event_name, log.body) == (
        wire.T0,
        0,
        "gen_ai.client.inference.operation.details",
        {"content": "hi"},
    )
    assert log.attributes == {"gen_ai.input.messages": [{"role": "user"}]}
    assert log.resource == {"service.name": "app"}


def test_a_log_without_ids_or_time_uses_none_and_the_observed_time() -> None:
    record = PbLogRecord(
        observed_time_unix_nano=wire.T0,
        attributes=wire.key_values({"event.name": "gen_ai.choice"}),
    )
    (log,) = decode_logs(wire.logs(record), PROTOBUF)
    assert (log.trace_id, log.span_id, log.time_ns, log.body) == (None, None, wire.T0, None)
    assert log.observed_ns == wire.T0
    assert log.event_name == "gen_ai.choice"  # the older attribute form of the event name
