"""Binary OTLP (application/x-protobuf) -> records, with the generated opentelemetry-proto classes.

This is the hot path of ingestion: attribute values are converted with one `WhichOneof` per value
and no intermediate objects, and one resource dict is shared by all of its spans.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from agentops_server.ingest.otlp.errors import Undecodable
from agentops_server.ingest.otlp.spans import AttrValue, LogRecord, Span, SpanEvent
from agentops_server.ingest.otlp.text import NUL, without_nul

__all__ = ["read_logs", "read_traces"]

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
# Oneof members returned as they are; the rest need converting (or are unknown: None).
_PLAIN = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def read_traces(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise _not_protobuf("ExportTraceServiceRequest", body, exc) from None
    spans: list[Span] = []
    append = spans.append
    for r, resource_spans in enumerate(request.resource_spans):
        resource = _attributes(resource_spans.resource.attributes)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            scope = scope_spans.scope
            scope_name = without_nul(scope.name)
            scope_version = without_nul(scope.version)
            for i, span in enumerate(scope_spans.spans):
                trace_id = span.trace_id
                span_id = span.span_id
                parent = span.parent_span_id
                if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
                    raise _bad_id(r, s, i, "traceId", trace_id, 16)
                if len(span_id) != 8 or span_id == _ZERO_SPAN:
                    raise _bad_id(r, s, i, "spanId", span_id, 8)
                if parent and (len(parent) != 8 or parent == span_id):
                    raise _bad_id(r, s, i, "parentSpanId", parent, 8)
                status = span.status
                events = span.events
                name = span.name
                if NUL in name:
                    name = name.replace(NUL, "")
                append(
                    Span(
                        trace_id.hex(),
                        span_id.hex(),
                        parent.hex() if parent and parent != _ZERO_SPAN else None,
                        name,
                        span.kind,
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                        status.code,
                        without_nul(status.message),
                        _attributes(span.attributes),
                        tuple(
                            SpanEvent(
                                without_nul(e.name), e.time_unix_nano, _attributes(e.attributes)
                            )
                            for e in events
                        )
                        if events
                        else (),
                        resource,
                        scope_name,
                        scope_version,
                    )
                )
    return spans


def read_logs(body: bytes) -> list[LogRecord]:
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise _not_protobuf("ExportLogsServiceRequest", body, exc) from None
    records: list[LogRecord] = []
    for r, resource_logs in enumerate(request.resource_logs):
        resource = _attributes(resource_logs.resource.attributes)
        for s, scope_logs in enumerate(resource_logs.scope_logs):
            for i, log in enumerate(scope_logs.log_records):
                where = f"resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}]"
                attributes = _attributes(log.attributes)
                event_name = without_nul(log.event_name) or attributes.get("event.name")
                records.append(
                    LogRecord(
                        _optional_id(log.trace_id, 16, where, "traceId"),
                        _optional_id(log.span_id, 8, where, "spanId"),
                        log.time_unix_nano or log.observed_time_unix_nano,
                        log.observed_time_unix_nano,
                        event_name if isinstance(event_name, str) else "",
                        _value(log.body) if log.HasField("body") else None,
                        attributes,
                        resource,
                    )
                )
    return records


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, AttrValue]:
    out: dict[str, AttrValue] = {}
    plain = _PLAIN
    for pair in pairs:
        key = pair.key
        if NUL in key:
            key = key.replace(NUL, "")
        value = pair.value
        # Most values are non-empty strings: one cheap probe instead of WhichOneof (3x dearer).
        text = value.string_value
        if text:
            out[key] = text.replace(NUL, "") if NUL in text else text
            continue
        which = value.WhichOneof("value")
        if which in plain:
            out[key] = getattr(value, which)  # an empty string_value has no NUL
        else:
            out[key] = _complex(value, which)
    return out


def _value(value: AnyValue) -> AttrValue:
    which = value.WhichOneof("value")
    if which == "string_value":
        return without_nul(value.string_value)
    if which in _PLAIN:
        return getattr(value, which)  # type: ignore[no-any-return]
    return _complex(value, which)


def _complex(value: AnyValue, which: str | None) -> AttrValue:
    """Arrays, kvlists and bytes; None for an empty AnyValue or a field we do not know."""
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None  # e.g. the profiles-only string_value_strindex


def _not_protobuf(what: str, body: bytes, exc: DecodeError) -> Undecodable:
    # upb says "Error parsing message with type '<full name>': <reason>": keep the reason.
    reason = str(exc).rpartition(": ")[2] or "cannot parse"
    hint = " (JSON? send it as application/json)" if body.lstrip()[:1] in (b"{", b"[") else ""
    return Undecodable(f"not a valid OTLP protobuf {what}: {reason}{hint}")


def _optional_id(raw: bytes, size: int, where: str, field: str) -> str | None:
    if not raw or raw == bytes(size):
        return None
    if len(raw) != size:
        raise Undecodable(f"{where}.{field} must be {size} bytes, got {len(raw)}")
    return raw.hex()


def _bad_id(r: int, s: int, i: int, field: str, raw: bytes, size: int) -> Undecodable:
    where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}].{field}"
    if len(raw) == size and field == "parentSpanId":
        return Undecodable(f"{where} is the span's own spanId: a span cannot be its own parent")
    if len(raw) == size:
        return Undecodable(f"{where} must not be all zero (an invalid id)")
    if not raw:
        return Undecodable(f"{where} is missing: {size} bytes required")
    return Undecodable(f"{where} must be {size} bytes, got {len(raw)}")
