"""The facts of an LLM span, shared by every convention: usage, messages, error."""

from __future__ import annotations

from typing import Any

from agentops_server.ingest.otlp.conventions.error_facts import error_facts
from agentops_server.ingest.otlp.conventions.facts import SpanFacts
from agentops_server.ingest.otlp.conventions.messages import llm_messages
from agentops_server.ingest.otlp.conventions.usage import (
    CACHE_READ,
    CACHE_WRITE,
    INPUT,
    MODEL,
    OUTPUT,
    PROVIDER,
    REASONING,
    RESPONSE_ID,
    reported_cost,
)
from agentops_server.ingest.otlp.conventions.values import first_count, first_text
from agentops_server.ingest.otlp.spans import Span

__all__ = ["read_llm"]


def read_llm(span: Span, convention: str, context: dict[str, Any]) -> SpanFacts:
    """Named by its model (the span name when no model is given)."""
    attrs = span.attributes
    model = first_text(attrs, MODEL)
    provider = first_text(attrs, PROVIDER)
    prompt, completion = llm_messages(span)
    return SpanFacts(
        kind="llm",
        name=model or span.name,
        convention=convention,
        model=model,
        provider=provider.lower() if provider else None,
        response_id=first_text(attrs, RESPONSE_ID),
        prompt=prompt,
        completion=completion,
        input_tokens=first_count(attrs, INPUT),
        output_tokens=first_count(attrs, OUTPUT),
        cache_read_tokens=first_count(attrs, CACHE_READ),
        cache_write_tokens=first_count(attrs, CACHE_WRITE),
        reasoning_tokens=first_count(attrs, REASONING),
        reported_cost=reported_cost(attrs),
        error=error_facts(span),
        **context,
    )
