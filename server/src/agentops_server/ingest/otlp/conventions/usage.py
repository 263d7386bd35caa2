"""Where model, provider, token counts and reported cost of an LLM span are, across conventions.

Each figure is the first usable key of its list (`llm.read_llm` reads them). Cached and
reasoning tokens are subsets of input and output (spec, OpenAI) and are reported apart, never
added to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from agentops_server.ingest.otlp.conventions.values import money
from agentops_server.ingest.otlp.spans import AttrValue

__all__ = [
    "CACHE_READ",
    "CACHE_WRITE",
    "INPUT",
    "MODEL",
    "OUTPUT",
    "PROVIDER",
    "REASONING",
    "RESPONSE_ID",
    "reported_cost",
]

MODEL = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
    "embedding.model_name",
)
PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
RESPONSE_ID = ("gen_ai.response.id",)
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
_ZERO = Decimal(0)


def reported_cost(attrs: Mapping[str, AttrValue]) -> Decimal | None:
    """A cost the instrumentation wrote on the span (a total, else its parts added up)."""
    for total_key, part_keys in COST:
        if total_key in attrs and (total := money(attrs[total_key])) is not None:
            return total
        parts: Decimal | None = None
        for key in part_keys:
            if key in attrs and (part := money(attrs[key])) is not None:
                parts = (_ZERO if parts is None else parts) + part  # as sum(parts, Decimal(0))
        if parts is not None:
            return parts
    return None
