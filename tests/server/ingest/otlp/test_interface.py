"""The names the ingestion assembler imports from the OTLP reading half stay as agreed."""

from __future__ import annotations

import dataclasses

from agentops_server.ingest.otlp import conventions, decode, spans
from agentops_server.ingest.otlp.conventions import facts


def test_public_names_are_pinned() -> None:
    assert sorted(decode.__all__) == [
        "Undecodable",
        "UnsupportedMediaType",
        "decode_logs",
        "decode_traces",
    ]
    assert sorted(spans.__all__) == ["AttrValue", "LogRecord", "Span", "SpanEvent"]
    assert sorted(conventions.__all__) == ["ErrorFacts", "SpanFacts", "SpanKind", "read_span"]


def test_record_fields_are_pinned() -> None:
    def names(cls: type) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    assert names(spans.Span) == [
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "kind",
        "start_ns",
        "end_ns",
        "status_code",
        "status_message",
        "attributes",
        "events",
        "resource",
        "scope_name",
        "scope_version",
    ]
    assert names(spans.SpanEvent) == ["name", "time_ns", "attributes"]
    assert names(spans.LogRecord) == [
        "trace_id",
        "span_id",
        "time_ns",
        "observed_ns",
        "event_name",
        "body",
        "attributes",
        "resource",
    ]
    assert names(facts.ErrorFacts) == ["type", "message", "stacktrace"]
    assert len(names(facts.SpanFacts)) == 24
