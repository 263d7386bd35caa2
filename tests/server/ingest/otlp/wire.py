"""Build OTLP requests for tests with the real opentelemetry-proto classes, and their JSON twin."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
ROOT_ID = bytes.fromhex("eee19b7ec3c1b173")
CHILD_ID = bytes.fromhex("eee19b7ec3c1b174")
T0 = 1_700_000_000_000_000_000


def any_value(value: object) -> AnyValue:
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=key_values(value)))
    raise TypeError(value)


def key_values(attrs: Mapping[str, object]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]


def span(
    name: str = "span",
    *,
    trace_id: bytes = TRACE_ID,
    span_id: bytes = CHILD_ID,
    parent: bytes = b"",
    kind: int = 1,
    attrs: Mapping[str, object] | None = None,
    events: Sequence[tuple[str, Mapping[str, object]]] = (),
    status: tuple[int, str] = (0, ""),
) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=kind,  # type: ignore[arg-type]
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 1_000_000,
        attributes=key_values(attrs or {}),
        events=[
            Span.Event(time_unix_nano=T0 + n, name=event, attributes=key_values(a))
            for n, (event, a) in enumerate(events)
        ],
        status=Status(code=status[0], message=status[1]),  # type: ignore[arg-type]
    )


def traces(
    *scopes: tuple[str, Sequence[Span]],
    resource: Mapping[str, object] | None = None,
) -> ExportTraceServiceRequest:
    """One resource, one ScopeSpans per (scope name, spans)."""
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=key_values(resource or {})),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name=name, version="1.0"), spans=spans)
                    for name, spans in scopes
                ],
            )
        ]
    )


def logs(*records: LogRecord, resource: Mapping[str, object] | None = None) -> bytes:
    request = ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=key_values(resource or {})),
                scope_logs=[ScopeLogs(log_records=records)],
            )
        ]
    )
    return request.SerializeToString()


def as_otlp_json(request: ExportTraceServiceRequest | ExportLogsServiceRequest) -> bytes:
    """The OTLP/JSON encoding of a request: protobuf JSON with hex ids, int enums, camelCase."""
    tree = MessageToDict(request, use_integers_for_enums=True)
    _hex_ids(tree)
    return orjson.dumps(tree)


def _hex_ids(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _hex_ids(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64decode(value).hex().upper()  # OTLP/JSON is case-insensitive
            else:
                _hex_ids(value)
