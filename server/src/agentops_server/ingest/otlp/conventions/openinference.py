"""OpenInference (Arize Phoenix): `openinference.span.kind` and `llm.*` attributes."""

from __future__ import annotations

from agentops_server.ingest.otlp.conventions.context import context
from agentops_server.ingest.otlp.conventions.error_facts import error_facts
from agentops_server.ingest.otlp.conventions.facts import SpanFacts, SpanKind
from agentops_server.ingest.otlp.conventions.llm import read_llm
from agentops_server.ingest.otlp.conventions.messages import io_value
from agentops_server.ingest.otlp.conventions.values import text
from agentops_server.ingest.otlp.spans import Span

__all__ = ["read"]

_KINDS: dict[str, SpanKind] = {"LLM": "llm", "EMBEDDING": "llm", "TOOL": "tool", "AGENT": "agent"}


def read(span: Span) -> SpanFacts:
    attrs = span.attributes
    declared = text(attrs.get("openinference.span.kind"))
    kind = _KINDS.get(declared.upper() if declared else "", "action")
    ctx = context(span, associations=False)
    if kind == "llm":
        return read_llm(span, "openinference", ctx)
    name = span.name
    if kind == "tool":
        name = text(attrs.get("tool.name")) or name
    elif kind == "agent":
        name = text(attrs.get("agent.name")) or name
    return SpanFacts(
        kind=kind,
        name=name,
        convention="openinference",
        params=io_value(attrs, "input"),
        returns=io_value(attrs, "output"),
        agent_name=name if kind == "agent" else None,
        error=error_facts(span),
        **ctx,
    )
