"""What a span means, read under the convention that wrote it.

The first match wins: agentops 0.4, OpenInference, OpenLLMetry before 0.5x, then the GenAI
semantic conventions; a span none of them claims is a generic action. A span from an agentops
process (by its resource) that is neither the SDK's nor an LLM call is left to the others.
"""

from __future__ import annotations

from agentops_server.ingest.otlp.conventions import (
    agentops,
    genai,
    openinference,
    openllmetry,
    otel,
)
from agentops_server.ingest.otlp.conventions.facts import ErrorFacts, SpanFacts, SpanKind
from agentops_server.ingest.otlp.spans import Span

__all__ = ["ErrorFacts", "SpanFacts", "SpanKind", "read_span"]


def read_span(span: Span) -> SpanFacts:
    """Never raises on odd attribute values: what cannot be read is None."""
    attrs = span.attributes
    if agentops.is_agentops(span):
        facts = agentops.read(span)
        if facts is not None:
            return facts
    if "openinference.span.kind" in attrs:
        return openinference.read(span)
    if openllmetry.is_openllmetry(attrs):
        return openllmetry.read(span)
    if "gen_ai.operation.name" in attrs:
        return genai.read(span)
    return otel.read(span)
