"""Spans and log contents as JSON text, for what waits in the store (pending_otlp rows)."""

from __future__ import annotations

from typing import Any

import orjson

from agentops_server.ingest.otlp.spans import Span, SpanEvent


def spans_to_json(spans: list[Span]) -> str:
    return orjson.dumps([_span_dict(span) for span in spans]).decode()


def spans_from_json(text: str) -> list[Span]:
    return [_span(raw) for raw in orjson.loads(text)]


def _span_dict(span: Span) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind,
        "start_ns": span.start_ns,
        "end_ns": span.end_ns,
        "status_code": span.status_code,
        "status_message": span.status_message,
        "attributes": span.attributes,
        "events": [
            {"name": e.name, "time_ns": e.time_ns, "attributes": e.attributes} for e in span.events
        ],
        "resource": span.resource,
        "scope_name": span.scope_name,
        "scope_version": span.scope_version,
    }


def _span(raw: dict[str, Any]) -> Span:
    return Span(
        trace_id=raw["trace_id"],
        span_id=raw["span_id"],
        parent_span_id=raw["parent_span_id"],
        name=raw["name"],
        kind=raw["kind"],
        start_ns=raw["start_ns"],
        end_ns=raw["end_ns"],
        status_code=raw["status_code"],
        status_message=raw["status_message"],
        attributes=raw["attributes"],
        events=tuple(SpanEvent(e["name"], e["time_ns"], e["attributes"]) for e in raw["events"]),
        resource=raw["resource"],
        scope_name=raw["scope_name"],
        scope_version=raw["scope_version"],
    )


def contents_to_json(contents: dict[str, dict[str, Any]]) -> str:
    """{span id: {"prompt": ..., "completion": ...}} of one trace."""
    return orjson.dumps(contents).decode()


def contents_from_json(text: str) -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = orjson.loads(text)
    return loaded
