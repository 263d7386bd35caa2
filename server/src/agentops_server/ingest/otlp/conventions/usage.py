"""Model, provider, token counts and reported cost of an LLM span, across conventions.

Each figure is the first usable key of its list. Cached and reasoning tokens are subsets of
input and output (spec, OpenAI) and are reported apart, never added to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from agentops_server.ingest.otlp.conventions.values import first_count, first_text, money
from agentops_server.ingest.otlp.spans import AttrValue

__all__ = ["llm_usage", "reported_cost"]

MODEL = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
    "embedding.model_name",
)
PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
OUTPUT = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
CACHE_READ = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
REASONING = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
# A total, or parts to add up: (total key, part keys), best first.
COST = (
    ("llm.cost.total", ("llm.cost.prompt", "llm.cost.completion")),
    ("gen_ai.usage.total_cost", ("gen_ai.usage.prompt_cost", "gen_ai.usage.completion_cost")),
)


def llm_usage(attrs: Mapping[str, AttrValue]) -> dict[str, Any]:
    """SpanFacts fields for an LLM span: model, provider, response id, tokens, cost."""
    provider = first_text(attrs, PROVIDER)
    return {
        "model": first_text(attrs, MODEL),
        "provider": provider.lower() if provider else None,
        "response_id": first_text(attrs, ("gen_ai.response.id",)),
        "input_tokens": first_count(attrs, INPUT),
        "output_tokens": first_count(attrs, OUTPUT),
        "cache_read_tokens": first_count(attrs, CACHE_READ),
        "cache_write_tokens": first_count(attrs, CACHE_WRITE),
        "reasoning_tokens": first_count(attrs, REASONING),
        "reported_cost": reported_cost(attrs),
    }


def reported_cost(attrs: Mapping[str, AttrValue]) -> Decimal | None:
    """A cost the instrumentation wrote on the span (a total, else its parts added up)."""
    for total_key, part_keys in COST:
        if total_key in attrs and (total := money(attrs[total_key])) is not None:
            return total
        parts = [
            part for key in part_keys if key in attrs and (part := money(attrs[key])) is not None
        ]
        if parts:
            return sum(parts, Decimal(0))
    return None
