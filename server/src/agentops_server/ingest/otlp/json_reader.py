"""OTLP/JSON (application/json) -> records, read directly from the parsed JSON.

Not through protobuf's json_format: that base64-decodes the hex ids of OTLP/JSON into wrong
ids without complaint. Keys are lowerCamelCase; unknown fields are ignored.
"""

from __future__ import annotations

from typing import Any

import orjson

from agentops_server.ingest.otlp.errors import Undecodable
from agentops_server.ingest.otlp.json_values import (
    attributes,
    enum,
    hex_id,
    int64,
    json_type,
    string,
)
from agentops_server.ingest.otlp.spans import AttrValue, LogRecord, Span, SpanEvent
from agentops_server.ingest.otlp.text import strings_without_nul

__all__ = ["read_logs", "read_traces"]

_SPAN_KINDS = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
_STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def read_traces(body: bytes) -> list[Span]:
    request = _load(body, "ExportTraceServiceRequest")
    spans: list[Span] = []
    for r, resource_spans in enumerate(_array(request, "resourceSpans", "")):
        where = f"resourceSpans[{r}]"
        resource = _resource(resource_spans, where)
        for s, scope_spans in enumerate(_array(resource_spans, "scopeSpans", where)):
            scope_where = f"{where}.scopeSpans[{s}]"
            scope = _object(scope_spans, "scope", scope_where)
            scope_name = string(scope.get("name"), f"{scope_where}.scope.name")
            scope_version = string(scope.get("version"), f"{scope_where}.scope.version")
            for i, span in enumerate(_array(scope_spans, "spans", scope_where)):
                spans.append(
                    _span(span, f"{scope_where}.spans[{i}]", resource, scope_name, scope_version)
                )
    return spans


def read_logs(body: bytes) -> list[LogRecord]:
    request = _load(body, "ExportLogsServiceRequest")
    records: list[LogRecord] = []
    for r, resource_logs in enumerate(_array(request, "resourceLogs", "")):
        where = f"resourceLogs[{r}]"
        resource = _resource(resource_logs, where)
        for s, scope_logs in enumerate(_array(resource_logs, "scopeLogs", where)):
            scope_where = f"{where}.scopeLogs[{s}]"
            for i, log in enumerate(_array(scope_logs, "logRecords", scope_where)):
                records.append(_log(log, f"{scope_where}.logRecords[{i}]", resource))
    return records


def _span(
    span: Any, where: str, resource: dict[str, AttrValue], scope_name: str, scope_version: str
) -> Span:
    if type(span) is not dict:
        raise Undecodable(f"{where} must be an object, got {json_type(span)}")
    get = span.get
    trace_id = hex_id(get("traceId"), f"{where}.traceId", 32)
    if trace_id is None:
        raise Undecodable(f"{where}.traceId is missing, empty or all zero: a span needs one")
    span_id = hex_id(get("spanId"), f"{where}.spanId", 16)
    if span_id is None:
        raise Undecodable(f"{where}.spanId is missing, empty or all zero: a span needs one")
    parent = hex_id(get("parentSpanId"), f"{where}.parentSpanId", 16)
    if parent == span_id:
        raise Undecodable(
            f"{where}.parentSpanId is the span's own spanId: a span cannot be its own parent"
        )
    status = _object(span, "status", where)
    return Span(
        trace_id,
        span_id,
        parent,
        string(get("name"), f"{where}.name"),
        enum(get("kind"), f"{where}.kind", _SPAN_KINDS),
        int64(get("startTimeUnixNano"), f"{where}.startTimeUnixNano"),
        int64(get("endTimeUnixNano"), f"{where}.endTimeUnixNano"),
        enum(status.get("code"), f"{where}.status.code", _STATUS_CODES),
        string(status.get("message"), f"{where}.status.message"),
        attributes(get("attributes"), f"{where}.attributes"),
        tuple(
            _event(e, f"{where}.events[{n}]") for n, e in enumerate(_array(span, "events", where))
        ),
        resource,
        scope_name,
        scope_version,
    )


def _event(event: Any, where: str) -> SpanEvent:
    if type(event) is not dict:
        raise Undecodable(f"{where} must be an object, got {json_type(event)}")
    return SpanEvent(
        string(event.get("name"), f"{where}.name"),
        int64(event.get("timeUnixNano"), f"{where}.timeUnixNano"),
        attributes(event.get("attributes"), f"{where}.attributes"),
    )


def _log(log: Any, where: str, resource: dict[str, AttrValue]) -> LogRecord:
    if type(log) is not dict:
        raise Undecodable(f"{where} must be an object, got {json_type(log)}")
    attrs = attributes(log.get("attributes"), f"{where}.attributes")
    event_name = string(log.get("eventName"), f"{where}.eventName") or attrs.get("event.name")
    body = log.get("body")
    if body is not None:
        # The body is one AnyValue: read it as the value of a one-attribute list.
        body = attributes([{"key": "body", "value": body}], f"{where}.body")["body"]
    observed = int64(log.get("observedTimeUnixNano"), f"{where}.observedTimeUnixNano")
    return LogRecord(
        hex_id(log.get("traceId"), f"{where}.traceId", 32),
        hex_id(log.get("spanId"), f"{where}.spanId", 16),
        int64(log.get("timeUnixNano"), f"{where}.timeUnixNano") or observed,
        observed,
        event_name if isinstance(event_name, str) else "",
        body,
        attrs,
        resource,
    )


def _load(body: bytes, what: str) -> dict[str, Any]:
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Undecodable(f"not a valid OTLP JSON {what}: {exc}") from None
    if type(request) is not dict:
        raise Undecodable(f"an OTLP JSON {what} must be an object, got {json_type(request)}")
    if b"\\u0000" in body:  # JSON writes NUL only this way (escaped); rare: clean it all
        try:
            request = strings_without_nul(request)
        except RecursionError:
            raise Undecodable(f"an OTLP JSON {what} nested too deeply") from None
    return request


def _resource(parent: Any, where: str) -> dict[str, AttrValue]:
    resource = _object(parent, "resource", where)
    return attributes(resource.get("attributes"), f"{where}.resource.attributes")


def _array(parent: Any, key: str, where: str) -> list[Any]:
    if type(parent) is not dict:
        raise Undecodable(f"{where or 'the request'} must be an object, got {json_type(parent)}")
    value = parent.get(key)
    if value is None:
        return []
    if type(value) is not list:
        path = f"{where}.{key}" if where else key
        raise Undecodable(f"{path} must be an array, got {json_type(value)}")
    return value


def _object(parent: Any, key: str, where: str) -> dict[str, Any]:
    if type(parent) is not dict:
        raise Undecodable(f"{where} must be an object, got {json_type(parent)}")
    value = parent.get(key)
    if value is None:
        return {}
    if type(value) is not dict:
        raise Undecodable(f"{where}.{key} must be an object, got {json_type(value)}")
    return value
