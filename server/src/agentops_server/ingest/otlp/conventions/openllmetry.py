"""OpenLLMetry (Traceloop) before 0.5x: `llm.request.type`, `traceloop.span.kind`, and the
indexed `gen_ai.prompt.{i}.*` / `gen_ai.completion.{i}.*` families."""

from __future__ import annotations

from collections.abc import Mapping

from agentops_server.ingest.otlp.conventions.context import context
from agentops_server.ingest.otlp.conventions.error_facts import error_facts
from agentops_server.ingest.otlp.conventions.facts import SpanFacts, SpanKind
from agentops_server.ingest.otlp.conventions.llm import read_llm
from agentops_server.ingest.otlp.conventions.values import decoded, text
from agentops_server.ingest.otlp.spans import AttrValue, Span

__all__ = ["is_openllmetry", "read"]

LLM_REQUEST_TYPES = frozenset({"chat", "completion", "embedding"})
_KINDS: dict[str, SpanKind] = {"tool": "tool", "agent": "agent"}


def is_openllmetry(attrs: Mapping[str, AttrValue]) -> bool:
    return (
        "traceloop.span.kind" in attrs
        or "llm.request.type" in attrs
        or "gen_ai.prompt.0.role" in attrs
        or "gen_ai.prompt.0.content" in attrs
    )


def read(span: Span) -> SpanFacts:
    attrs = span.attributes
    ctx = context(span, associations=True)
    entity = text(attrs.get("traceloop.span.kind"))
    request_type = text(attrs.get("llm.request.type"))
    if request_type in LLM_REQUEST_TYPES or (entity is None and request_type is None):
        return read_llm(span, "openllmetry", ctx)  # a request type, or gen_ai.prompt.0.*
    kind = _KINDS.get(entity or "", "action")
    name = text(attrs.get("traceloop.entity.name")) or span.name
    return SpanFacts(
        kind=kind,
        name=name,
        convention="openllmetry",
        params=decoded(attrs.get("traceloop.entity.input")),
        returns=decoded(attrs.get("traceloop.entity.output")),
        agent_name=name if kind == "agent" else None,
        error=error_facts(span),
        **ctx,
    )
