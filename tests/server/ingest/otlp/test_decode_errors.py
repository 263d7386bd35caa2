"""A body that is not a valid OTLP request is refused with a message that says what is wrong."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord

from agentops_server.ingest.otlp.decode import (
    Undecodable,
    UnsupportedMediaType,
    decode_logs,
    decode_traces,
)
from tests.server.ingest.otlp import wire
from tests.server.ingest.otlp.test_decode_json import SPEC_EXAMPLE

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
SPAN = "resourceSpans[0].scopeSpans[0].spans[0]"


def refused(body: bytes, content_type: str = JSON) -> str:
    with pytest.raises(Undecodable) as caught:
        decode_traces(body, content_type)
    return str(caught.value)


def spec_with(**span_fields: Any) -> bytes:
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(span_fields)
    return orjson.dumps(body)


def test_undecodable_is_a_value_error() -> None:
    assert issubclass(Undecodable, ValueError)
    assert issubclass(UnsupportedMediaType, ValueError)


@pytest.mark.parametrize("content_type", ["text/plain", "application/protobuf", ""])
def test_other_media_types_are_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType, match="application/x-protobuf or application/json"):
        decode_traces(b"", content_type)
    with pytest.raises(UnsupportedMediaType):
        decode_logs(b"", content_type)


def test_garbage_and_json_sent_as_protobuf_are_refused() -> None:
    assert refused(b"\xff\xff\xff\xff", PROTOBUF).startswith(
        "not a valid OTLP protobuf ExportTraceServiceRequest"
    )
    assert refused(orjson.dumps(SPEC_EXAMPLE), PROTOBUF).endswith(
        "(JSON? send it as application/json)"
    )
    with pytest.raises(Undecodable, match="ExportLogsServiceRequest"):
        decode_logs(b"\xff\xff\xff\xff", PROTOBUF)


def test_a_truncated_protobuf_body_is_refused() -> None:
    body = wire.traces(("s", [wire.span(attrs={"k": "v" * 50})])).SerializeToString()
    assert "not a valid OTLP protobuf" in refused(body[:-10], PROTOBUF)


def test_protobuf_ids_of_the_wrong_length_name_the_field() -> None:
    good = wire.span(span_id=b"\x01" * 8)
    bad_trace = wire.span(span_id=b"\x02" * 8, trace_id=b"\x01" * 12)
    body = wire.traces(("a", []), ("b", [good, bad_trace])).SerializeToString()
    assert refused(body, PROTOBUF) == (
        "resourceSpans[0].scopeSpans[1].spans[1].traceId must be 16 bytes, got 12"
    )
    bad_parent = wire.traces(("s", [wire.span(parent=b"\x01" * 4)])).SerializeToString()
    assert refused(bad_parent, PROTOBUF) == f"{SPAN}.parentSpanId must be 8 bytes, got 4"


def test_protobuf_spans_without_valid_ids_are_refused_not_skipped() -> None:
    no_trace = wire.traces(("s", [wire.span(trace_id=b"")])).SerializeToString()
    assert refused(no_trace, PROTOBUF) == f"{SPAN}.traceId is missing: 16 bytes required"
    zero_span = wire.traces(("s", [wire.span(span_id=bytes(8))])).SerializeToString()
    assert refused(zero_span, PROTOBUF) == f"{SPAN}.spanId must not be all zero (an invalid id)"


def test_not_json_or_not_an_object_is_refused() -> None:
    assert refused(b"{not json").startswith("not a valid OTLP JSON ExportTraceServiceRequest")
    assert (
        refused(b"[]") == "an OTLP JSON ExportTraceServiceRequest must be an object, got an array"
    )


def test_base64_ids_in_json_are_refused_with_a_hint() -> None:
    message = refused(spec_with(traceId="W47/95gDgQPSabYzgT/GDA=="))
    assert message == (
        f"{SPAN}.traceId must be 32 hex digits (OTLP/JSON ids are hex, not base64), "
        "got 'W47/95gDgQPSabYzgT/GDA=='"
    )
    assert refused(spec_with(spanId="7uGbfsPBsXQ=")).startswith(f"{SPAN}.spanId must be 16 hex")


def test_json_ids_that_are_missing_or_zero_are_refused() -> None:
    assert refused(spec_with(traceId=None)).startswith(f"{SPAN}.traceId is missing")
    assert refused(spec_with(spanId="0" * 16)).startswith(f"{SPAN}.spanId is missing, empty or all")
    assert refused(spec_with(parentSpanId="abc")) == (
        f"{SPAN}.parentSpanId must be 16 hex digits, got 'abc'"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"startTimeUnixNano": "soon"},
            "startTimeUnixNano must be an integer or a decimal string, got 'soon'",
        ),
        (
            {"endTimeUnixNano": True},
            "endTimeUnixNano must be an integer or a decimal string, got True",
        ),
        ({"kind": "server"}, "kind must be an integer enum value, got 'server'"),
        ({"name": 5}, "name must be a string, got a number"),
        ({"status": "ok"}, "status must be an object, got a string"),
        ({"attributes": {"k": "v"}}, "attributes must be an array of {key, value}, got an object"),
        ({"attributes": [{"value": {}}]}, "attributes[0] must be an object with a string key"),
        ({"events": [{"name": ["x"]}]}, "events[0].name must be a string, got an array"),
        ({"traceId": 7}, "traceId must be a string of hex digits, got a number"),
    ],
)
def test_wrong_json_types_name_the_path(fields: dict[str, Any], message: str) -> None:
    assert refused(spec_with(**fields)) == f"{SPAN}.{message}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"stringValue": 1}, ".value.stringValue ('k') must be a string, got a number"),
        ({"intValue": "1.5"}, ".value.intValue ('k') must be an integer or a decimal string"),
        ({"boolValue": "true"}, ".value.boolValue ('k') must be true or false, got 'true'"),
        ({"doubleValue": [1]}, ".value.doubleValue ('k') must be a number, got [1]"),
        ({"arrayValue": [1]}, ".value.arrayValue ('k') must be an object {values: [...]}"),
        (
            {"arrayValue": {"values": [{"stringValue": "a"}, {"kvlistValue": {"values": [1]}}]}},
            ".value.arrayValue.values[1].kvlistValue.values[0] ('k') must be an object with",
        ),
        ("text", ".value ('k') must be an AnyValue object, got a string"),
    ],
)
def test_wrong_attribute_value_types_name_the_path(value: Any, message: str) -> None:
    assert refused(spec_with(attributes=[{"key": "k", "value": value}])).startswith(
        f"{SPAN}.attributes[0]{message}"
    )


def test_wrong_json_structure_names_the_path() -> None:
    assert refused(b'{"resourceSpans": {}}') == "resourceSpans must be an array, got an object"
    assert refused(b'{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}') == (
        "resourceSpans[0].scopeSpans[0].spans must be an array, got an object"
    )
    assert refused(b'{"resourceSpans": [{"scopeSpans": [{"spans": [1]}]}]}') == (
        f"{SPAN} must be an object, got a number"
    )
    assert refused(b'{"resourceSpans": [{"resource": {"attributes": 1}}]}') == (
        "resourceSpans[0].resource.attributes must be an array of {key, value}, got a number"
    )


def test_wrong_json_log_fields_name_the_path() -> None:
    body = b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "xyz"}]}]}]}'
    with pytest.raises(Undecodable) as caught:
        decode_logs(body, JSON)
    assert str(caught.value) == (
        "resourceLogs[0].scopeLogs[0].logRecords[0].traceId must be 32 hex digits "
        "(OTLP/JSON ids are hex, not base64), got 'xyz'"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"resourceSpans": [1]}', "resourceSpans[0] must be an object, got a number"),
        (
            b'{"resourceSpans": [{"scopeSpans": [null]}]}',
            "resourceSpans[0].scopeSpans[0] must be an object, got null",
        ),
    ],
)
def test_list_items_of_the_wrong_type_name_the_path(body: bytes, message: str) -> None:
    assert refused(body) == message


ATTRS = {"a": [1, {"b": 2.5}], "c": b"\x01", "d": True}
TRACES = wire.traces(
    ("s", [wire.span(attrs=ATTRS, parent=wire.ROOT_ID, events=[("e", ATTRS)])]),
    resource={"service.name": "x"},
)
LOGS = ExportLogsServiceRequest.FromString(
    wire.logs(
        PbLogRecord(
            time_unix_nano=1,
            trace_id=wire.TRACE_ID,
            span_id=wire.ROOT_ID,
            event_name="e",
            body=wire.any_value(ATTRS),
            attributes=wire.key_values(ATTRS),
        ),
        resource={"service.name": "x"},
    )
)


@pytest.mark.parametrize(
    ("request_json", "decode"),
    [(wire.as_otlp_json(TRACES), decode_traces), (wire.as_otlp_json(LOGS), decode_logs)],
    ids=["traces", "logs"],
)
def test_any_damage_to_a_json_request_is_undecodable_never_another_error(
    request_json: bytes, decode: Callable[[bytes, str], object]
) -> None:
    pristine = orjson.loads(request_json)
    replacements: list[Any] = [None, 1, -1, 1.5, True, "x", "", [], [1], {}, {"k": 1}]
    paths = list(_paths(pristine))
    assert len(paths) > 40
    for path in paths:
        for replacement in replacements:
            body = copy.deepcopy(pristine)
            _set(body, path, replacement)
            try:
                decode(orjson.dumps(body), JSON)
            except Undecodable:
                pass


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Any:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from _paths(value, (*prefix, key))


def _set(node: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@pytest.mark.parametrize(
    ("body", "decode"),
    [(TRACES.SerializeToString(), decode_traces), (LOGS.SerializeToString(), decode_logs)],
    ids=["traces", "logs"],
)
def test_any_damaged_byte_in_a_protobuf_request_is_undecodable_never_another_error(
    body: bytes, decode: Callable[[bytes, str], object]
) -> None:
    for position in range(len(body)):
        for byte in (0x00, 0x01, 0x7F, 0x80, 0xFF, body[position] ^ 0x08):
            damaged = body[:position] + bytes([byte]) + body[position + 1 :]
            try:
                decode(damaged, PROTOBUF)
            except Undecodable:
                pass
