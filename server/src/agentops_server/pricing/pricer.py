"""Prices LLM events from model and tokens with genai-prices; a client-reported cost wins.

Token convention (the wire's, OpenAI's): prompt_tokens is ALL input tokens, including
cache reads and cache writes; completion_tokens includes reasoning tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from genai_prices import Usage, calc_price

from agentops_server.storage.records import CostSource, usd_to_nanos


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Price:
    cost_nanos: int | None  # None: unknown
    source: CostSource


class Pricer:
    """Prices one LLM event. Thread-safe; no I/O on the hot path."""

    def price(
        self,
        project_id: str,
        model: str | None,
        provider: str | None,
        usage: TokenUsage,
        reported_cost: Decimal | None = None,
    ) -> Price:
        if reported_cost is not None:
            return Price(usd_to_nanos(reported_cost), CostSource.REPORTED)
        if not model:
            return Price(None, CostSource.UNKNOWN_MODEL)
        if usage.prompt_tokens is None and usage.completion_tokens is None:
            return Price(None, CostSource.UNKNOWN_TOKENS)
        gp_usage = Usage(
            input_tokens=usage.prompt_tokens or 0,
            output_tokens=usage.completion_tokens or 0,
            cache_read_tokens=usage.cache_read_tokens or 0,
            cache_write_tokens=usage.cache_write_tokens or 0,
        )
        try:
            result = calc_price(gp_usage, model, provider_id=provider or None)
        except LookupError:
            return Price(None, CostSource.UNKNOWN_MODEL)
        return Price(usd_to_nanos(result.total_price), CostSource.COMPUTED)
