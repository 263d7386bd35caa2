"""What one span means for our model, whatever convention it was written in."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from agentops_server.ingest.otlp.spans import AttrValue

__all__ = ["ErrorFacts", "SpanFacts", "SpanKind"]

SpanKind = Literal["session", "llm", "tool", "agent", "action"]


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building one SpanFacts (24 fields) cost more than reading the span's attributes.


@dataclass(slots=True)
class ErrorFacts:
    type: str
    message: str
    stacktrace: str | None


@dataclass(slots=True)
class SpanFacts:
    kind: SpanKind
    name: str  # model for llm, tool name, agent name, operation or span name otherwise
    convention: str  # "agentops" | "openinference" | "openllmetry" | "genai" | "otel"
    # llm
    model: str | None = None
    provider: str | None = None  # lower-cased
    response_id: str | None = None
    prompt: AttrValue = None  # a list of {"role", "content", ...} messages when known
    completion: AttrValue = None  # likewise
    input_tokens: int | None = None
    output_tokens: int | None = None  # cached and reasoning tokens are never added to these
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    reported_cost: Decimal | None = None  # the instrumentation's own figure, if any
    # tool / action / agent
    params: AttrValue = None
    returns: AttrValue = None
    agent_name: str | None = None  # for kind "agent"
    # session-level: root spans and agentops *.session spans
    end_state: str | None = None  # "Success" | "Fail" | "Indeterminate"; None: no signal
    end_reason: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, AttrValue] = field(default_factory=dict)
    host_env: dict[str, AttrValue] | None = None
    conversation_id: str | None = None
    error: ErrorFacts | None = None  # for spans with status ERROR
