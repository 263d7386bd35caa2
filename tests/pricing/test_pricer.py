"""What the pricer answers when it cannot price: never a silent $0."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agentops_server.pricing import Price, Pricer, TokenUsage
from agentops_server.storage.records import CostSource


@pytest.mark.parametrize(
    ("model", "usage", "source"),
    [
        ("no-such-model-xyz", TokenUsage(100, 10), CostSource.UNKNOWN_MODEL),
        (None, TokenUsage(100, 10), CostSource.UNKNOWN_MODEL),
        ("  ", TokenUsage(100, 10), CostSource.UNKNOWN_MODEL),
        ("gpt-4o", TokenUsage(None, None), CostSource.UNKNOWN_TOKENS),  # streamed, no usage
        ("gpt-4o", TokenUsage(100, None), CostSource.UNKNOWN_TOKENS),
        ("gpt-4o", TokenUsage(100, 10, cache_read_tokens=500), CostSource.UNKNOWN_TOKENS),
        ("gpt-4o", TokenUsage(-1, 10), CostSource.UNKNOWN_TOKENS),
    ],
)
def test_unpriceable_events_have_unknown_cost(
    model: str | None, usage: TokenUsage, source: CostSource
) -> None:
    assert Pricer().price("p", model, None, usage) == Price(None, source)


def test_a_reported_cost_wins() -> None:
    price = Pricer().price("p", "gpt-4o", None, TokenUsage(None, None), Decimal("0.0012345678"))
    assert price == Price(1_234_568, CostSource.REPORTED)


def test_zero_tokens_of_a_known_model_cost_zero() -> None:
    assert Pricer().price("p", "gpt-4o", None, TokenUsage(0, 0)) == Price(0, CostSource.COMPUTED)


def test_unknown_models_are_remembered_not_rescanned() -> None:
    pricer = Pricer()
    first = pricer.price("p", "custom-ft-model", None, TokenUsage(1, 1))
    assert pricer.price("p", "custom-ft-model", None, TokenUsage(1, 1)) == first
    assert first.source is CostSource.UNKNOWN_MODEL


def test_describe_shows_the_table_prices() -> None:
    prices = Pricer().describe("p", "gpt-4o-mini")
    assert prices.source is CostSource.COMPUTED
    assert prices.provider == "openai"
    assert prices.input_per_mtok == Decimal("0.15")
    assert prices.output_per_mtok == Decimal("0.6")
    assert Pricer().describe("p", "nope-123").source is CostSource.UNKNOWN_MODEL
