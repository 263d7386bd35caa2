"""The fast catalog prices exactly like genai-prices' calc_price, for every model it knows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price, data_snapshot

from agentops_server.pricing import Catalog, InvalidUsage, Price, Pricer, TokenUsage
from agentops_server.storage.records import CostSource, usd_to_nanos

# (input, output, cache_read, cache_write, reasoning); input includes cache, output reasoning.
USAGES = [
    (1000, 200, None, None, None),
    (1000, 200, 300, None, None),
    (1000, 200, 300, 100, None),
    (1000, 200, None, None, 50),
    (1000, 200, 300, 100, 50),
    (250_000, 3000, 1000, 10, 10),  # above the 200k tier of long-context models
    (0, 0, None, None, None),
    (10, 5, 20, None, None),  # more cached than input: invalid
]
WHEN = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def genai(
    usage: tuple[int, int, int | None, int | None, int | None], model: str, provider: str | None
) -> Decimal | str:
    values = dict(zip(("input_tokens", "output_tokens"), usage[:2], strict=True))
    for key, value in zip(
        ("cache_read_tokens", "cache_write_tokens", "output_reasoning_tokens"),
        usage[2:],
        strict=True,
    ):
        if value is not None:
            values[key] = value
    try:
        return calc_price(
            Usage(**values), model, provider_id=provider, genai_request_timestamp=WHEN
        ).total_price
    except LookupError:
        return "unknown"
    except ValueError:
        return "invalid"


def test_every_model_of_the_table_prices_identically() -> None:
    catalog = Catalog()
    compared = 0
    for provider in data_snapshot.get_snapshot().providers:
        for model in provider.models:
            match = catalog.find(model.id, provider.id)
            if match is None:  # a few table ids don't match their own patterns
                with pytest.raises(LookupError):
                    calc_price(Usage(input_tokens=1), model.id, provider_id=provider.id)
                continue
            for usage in USAGES:
                expected = genai(usage, model.id, provider.id)
                try:
                    got: Decimal | str = catalog.cost(match, *usage, at=WHEN)
                except InvalidUsage:
                    got = "invalid"
                if expected == "unknown":  # found by our fallback to the model name only
                    continue
                if expected != got:
                    pytest.fail(f"{provider.id}/{model.id} {usage}: {got} != {expected}")
                compared += 1
    assert compared > 5000


@pytest.mark.parametrize(
    ("model", "provider", "usage"),
    [
        ("gpt-4o-mini-2024-07-18", "openai", (1200, 300, 1024, None, None)),
        ("o3-mini", "openai", (1100, 250, 512, None, 64)),
        ("claude-3-5-sonnet-20241022", "anthropic", (2600, 321, 2000, 500, None)),
        ("claude-sonnet-4-20250514", "anthropic", (300_000, 1000, 100_000, 5000, None)),
    ],
)
def test_pricer_cost_is_calc_price_in_nanos(
    model: str, provider: str, usage: tuple[int, int, int | None, int | None, int | None]
) -> None:
    expected = genai(usage, model, provider)
    assert isinstance(expected, Decimal) and expected > 0
    for given_provider in (provider, None):  # the provider is inferred from the model
        price = Pricer().price("p", model, given_provider, TokenUsage(*usage), at=WHEN)
        assert price == Price(usd_to_nanos(expected), CostSource.COMPUTED)


def test_cached_and_reasoning_tokens_change_the_cost_as_the_provider_prices_them() -> None:
    pricer = Pricer()
    plain = pricer.price("p", "claude-3-5-sonnet-20241022", None, TokenUsage(2600, 321), at=WHEN)
    cached = pricer.price(
        "p", "claude-3-5-sonnet-20241022", None, TokenUsage(2600, 321, 2000, 500), at=WHEN
    )
    assert plain.cost_nanos is not None and cached.cost_nanos is not None
    # 2000 reads at $0.30 instead of $3, 500 writes at $3.75 instead of $3 (per MTok)
    saved = 2000 * (3 - Decimal("0.3")) - 500 * (Decimal("3.75") - 3)
    assert plain.cost_nanos - cached.cost_nanos == usd_to_nanos(saved / 1_000_000)


def test_provider_prefix_in_the_model_name_is_understood() -> None:
    usage = TokenUsage(1000, 100)
    prefixed = Pricer().price("p", "openai/gpt-4o", None, usage, at=WHEN)
    plain = Pricer().price("p", "gpt-4o", "openai", usage, at=WHEN)
    assert prefixed == plain and prefixed.source is CostSource.COMPUTED


def test_unknown_provider_falls_back_to_the_model_name() -> None:
    usage = TokenUsage(1000, 100)
    assert Pricer().price("p", "gpt-4o", "my-proxy", usage, at=WHEN) == Pricer().price(
        "p", "gpt-4o", "openai", usage, at=WHEN
    )
