"""The facts of an LLM span, shared by every convention: usage, messages, error."""

from __future__ import annotations

from typing import Any

from agentops_server.ingest.otlp.conventions.error_facts import error_facts
from agentops_server.ingest.otlp.conventions.facts import SpanFacts
from agentops_server.ingest.otlp.conventions.messages import llm_messages
from agentops_server.ingest.otlp.conventions.usage import llm_usage
from agentops_server.ingest.otlp.spans import Span

__all__ = ["read_llm"]


def read_llm(span: Span, convention: str, context: dict[str, Any]) -> SpanFacts:
    """Named by its model (the span name when no model is given)."""
    usage = llm_usage(span.attributes)
    prompt, completion = llm_messages(span)
    return SpanFacts(
        kind="llm",
        name=usage["model"] or span.name,
        convention=convention,
        prompt=prompt,
        completion=completion,
        error=error_facts(span),
        **usage,
        **context,
    )
