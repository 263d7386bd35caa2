"""What waits in the store (pending_otlp rows): spans and log contents as JSON text, and the
log contents of a trace as rows of one span each."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from agentops_server.ingest.otlp.log_content import Contents
from agentops_server.ingest.otlp.spans import Span, SpanEvent
from agentops_server.storage.records import PendingOtlp

SPANS, LOGS, UPLOAD = "spans", "logs", "upload"
"""Kinds of what waits for a trace: token-less spans, GenAI log contents that came before
their span, and token-less log uploads of agentops 0.4."""


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


def contents_to_json(contents: Contents) -> str:
    """{span id: {record key: {"prompt": ..., "completion": ...}}} of one trace."""
    return orjson.dumps(contents).decode()


def contents_from_json(text: str) -> Contents:
    loaded: dict[str, dict[str, Any]] = orjson.loads(text)
    for span_id, value in loaded.items():
        if any(isinstance(fields, list) for fields in value.values()):
            # held by a version before record keys: {"prompt": ..., "completion": ...}, as
            # one record keyed by its content (a copy sent again then is still kept once)
            key = "v0." + hashlib.sha256(orjson.dumps(value)).digest()[:8].hex()
            loaded[span_id] = {key: value}
    return loaded


def merge_contents(into: Contents, more: Contents) -> None:
    """Log contents held in several rows for one span: their records in arrival order, each
    once (the rows of a request sent again hold the same records)."""
    for span_id, records in more.items():
        target = into.setdefault(span_id, {})
        for key, fields in records.items():
            target.setdefault(key, fields)


def content_rows(
    trace_id: str, project_id: str | None, contents: Contents, received_at: datetime
) -> list[PendingOtlp]:
    """Log contents of one trace as rows to hold, one per span."""
    return [
        PendingOtlp(
            trace_id, project_id, LOGS, contents_to_json({span_id: records}), received_at, span_id
        )
        for span_id, records in contents.items()
    ]


def split_by_span(
    rows: list[PendingOtlp], spans: set[str]
) -> tuple[list[PendingOtlp], list[PendingOtlp]]:
    """Log-content rows held for a whole trace, as rows of one span each: (those of `spans`,
    the others). Each other span's content is one row (rows sent again hold the same
    records), from when its oldest row came, so that it still expires then."""
    mine: list[PendingOtlp] = []
    rest: dict[str, PendingOtlp] = {}
    for row in rows:
        for span_id, records in contents_from_json(row.body).items():
            if span_id in spans:
                mine.append(_span_row(row, {span_id: records}, span_id))
                continue
            earlier = rest.get(span_id)
            if earlier is None:
                rest[span_id] = _span_row(row, {span_id: records}, span_id)
            else:
                kept = contents_from_json(earlier.body)
                merge_contents(kept, {span_id: records})
                rest[span_id] = _span_row(earlier, kept, span_id)
    return mine, list(rest.values())


def _span_row(row: PendingOtlp, contents: Contents, span_id: str) -> PendingOtlp:
    return replace(row, body=contents_to_json(contents), span_id=span_id)
