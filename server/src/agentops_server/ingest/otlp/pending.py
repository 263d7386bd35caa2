"""Spans and log contents as JSON text, for what waits in the store (pending_otlp rows)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from agentops_server.ingest.otlp.spans import Span, SpanEvent
from agentops_server.storage.payload_content import Records


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


def contents_to_json(contents: dict[str, Records]) -> str:
    """{span id: {record key: {"prompt": ..., "completion": ...}}} of one trace."""
    return orjson.dumps(contents).decode()


def contents_from_json(text: str) -> dict[str, Records]:
    loaded: dict[str, dict[str, Any]] = orjson.loads(text)
    for span_id, value in loaded.items():
        if any(isinstance(fields, list) for fields in value.values()):
            # held by a version before record keys: {"prompt": ..., "completion": ...}, as
            # one record keyed by its content (a copy sent again then is still kept once)
            key = "v0." + hashlib.sha256(orjson.dumps(value)).digest()[:8].hex()
            loaded[span_id] = {key: value}
    return loaded
