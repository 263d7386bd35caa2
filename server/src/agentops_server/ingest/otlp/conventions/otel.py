"""The reading of a span no GenAI convention claims: an action named like the span."""

from __future__ import annotations

from agentops_server.ingest.otlp.conventions.context import context
from agentops_server.ingest.otlp.conventions.error_facts import error_facts
from agentops_server.ingest.otlp.conventions.facts import SpanFacts
from agentops_server.ingest.otlp.spans import Span

__all__ = ["read"]


def read(span: Span) -> SpanFacts:
    return SpanFacts(
        kind="action",
        name=span.name,
        convention="otel",
        error=error_facts(span),
        **context(span, associations=False),
    )
