"""OpenTelemetry GenAI semantic conventions (`gen_ai.operation.name`).

Also OpenLLMetry >= 0.5x and the official openai-v2 instrumentation. Agent spans may carry
the agent's aggregate `gen_ai.usage.*`; only LLM spans report tokens, so it is not read.
"""

from __future__ import annotations

from agentops_server.ingest.otlp.conventions.context import context
from agentops_server.ingest.otlp.conventions.error_facts import error_facts
from agentops_server.ingest.otlp.conventions.facts import SpanFacts
from agentops_server.ingest.otlp.conventions.llm import read_llm
from agentops_server.ingest.otlp.conventions.values import decoded, first_text, text
from agentops_server.ingest.otlp.spans import Span

__all__ = ["read"]

LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
AGENT_OPERATIONS = frozenset({"invoke_agent", "create_agent"})


def read(span: Span) -> SpanFacts:
    attrs = span.attributes
    operation = text(attrs.get("gen_ai.operation.name"))
    ctx = context(span, associations=True)
    if operation in LLM_OPERATIONS:
        return read_llm(span, "genai", ctx)
    if operation == "execute_tool":
        return SpanFacts(
            kind="tool",
            name=text(attrs.get("gen_ai.tool.name")) or span.name,
            convention="genai",
            params=decoded(attrs.get("gen_ai.tool.call.arguments")),
            returns=decoded(attrs.get("gen_ai.tool.call.result")),
            error=error_facts(span),
            **ctx,
        )
    if operation in AGENT_OPERATIONS:
        name = first_text(attrs, ("gen_ai.agent.name", "gen_ai.agent.id")) or span.name
        return SpanFacts(
            kind="agent",
            name=name,
            convention="genai",
            agent_name=name,
            params=decoded(attrs.get("gen_ai.input.messages")),
            returns=decoded(attrs.get("gen_ai.output.messages")),
            error=error_facts(span),
            **ctx,
        )
    return SpanFacts(
        kind="action",
        name=text(attrs.get("gen_ai.workflow.name")) or span.name,
        convention="genai",
        error=error_facts(span),
        **ctx,
    )
