"""Per-project price overrides: precedence, scope, cache invalidation, exact arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agentops_server.pricing import Price, Pricer, TokenUsage
from agentops_server.storage.records import CostSource, PriceOverride
from agentops_server.storage.sql_store import SqlStore
from agentops_server.storage.store import NotFound

USAGE = TokenUsage(prompt_tokens=1_000_000, completion_tokens=500_000, cache_read_tokens=200_000)


def override(project_id: str, model: str = "my-ft-model", **prices: str) -> PriceOverride:
    values = {"input_per_mtok": "2", "output_per_mtok": "8", **prices}
    return PriceOverride(
        project_id,
        model,
        Decimal(values["input_per_mtok"]),
        Decimal(values["output_per_mtok"]),
        Decimal(values["cache_read_per_mtok"]) if "cache_read_per_mtok" in values else None,
        Decimal(values["cache_write_per_mtok"]) if "cache_write_per_mtok" in values else None,
    )


def test_an_override_prices_a_model_the_table_does_not_know(store: SqlStore) -> None:
    project = store.create_project("p").id
    pricer = Pricer(store)
    assert pricer.price(project, "my-ft-model", None, USAGE).source is CostSource.UNKNOWN_MODEL
    pricer.set_override(override(project))
    # cache reads without a cache price are billed as input: 1M x $2 + 0.5M x $8
    assert pricer.price(project, "my-ft-model", None, USAGE) == Price(
        6_000_000_000, CostSource.OVERRIDE
    )


def test_an_override_wins_over_the_table_with_its_cache_prices(store: SqlStore) -> None:
    project = store.create_project("p").id
    pricer = Pricer(store)
    assert pricer.price(project, "gpt-4o", None, USAGE).source is CostSource.COMPUTED
    pricer.set_override(override(project, "GPT-4o ", cache_read_per_mtok="0.5"))
    # 0.8M x $2 + 0.2M x $0.5 + 0.5M x $8 = 1.6 + 0.1 + 4.0; names match case-insensitively
    assert pricer.price(project, "gpt-4o", None, USAGE) == Price(5_700_000_000, CostSource.OVERRIDE)
    pricer.delete_override(project, "gpt-4o")
    assert pricer.price(project, "gpt-4o", None, USAGE).source is CostSource.COMPUTED


def test_overrides_are_per_project(store: SqlStore) -> None:
    mine, theirs = store.create_project("a").id, store.create_project("b").id
    pricer = Pricer(store)
    pricer.set_override(override(mine))
    assert pricer.price(theirs, "my-ft-model", None, USAGE).source is CostSource.UNKNOWN_MODEL
    assert [o.model for o in pricer.list_overrides(mine)] == ["my-ft-model"]
    assert pricer.list_overrides(theirs) == []


def test_writes_through_another_pricer_are_seen_after_the_cache_lifetime(store: SqlStore) -> None:
    project = store.create_project("p").id
    server = Pricer(store, override_ttl=3600)
    uncached = Pricer(store, override_ttl=0)  # sees the database on every call
    assert server.price(project, "my-ft-model", None, USAGE).source is CostSource.UNKNOWN_MODEL
    Pricer(store).set_override(override(project))  # e.g. the CLI, another process
    assert uncached.price(project, "my-ft-model", None, USAGE).source is CostSource.OVERRIDE
    assert server.price(project, "my-ft-model", None, USAGE).source is CostSource.UNKNOWN_MODEL
    server.invalidate(project)
    assert server.price(project, "my-ft-model", None, USAGE).source is CostSource.OVERRIDE


def test_replacing_an_override_takes_effect_at_once(store: SqlStore) -> None:
    project = store.create_project("p").id
    pricer = Pricer(store, override_ttl=3600)
    pricer.set_override(override(project))
    first = pricer.price(project, "my-ft-model", None, USAGE)
    pricer.set_override(override(project, input_per_mtok="4"))
    second = pricer.price(project, "my-ft-model", None, USAGE)
    assert first.cost_nanos is not None and second.cost_nanos == first.cost_nanos + 2_000_000_000


def test_deleting_a_missing_override_raises_not_found(store: SqlStore) -> None:
    project = store.create_project("p").id
    with pytest.raises(NotFound):
        Pricer(store).delete_override(project, "nothing-here")


def test_overrides_still_refuse_unknown_tokens(store: SqlStore) -> None:
    project = store.create_project("p").id
    pricer = Pricer(store)
    pricer.set_override(override(project))
    unknown = pricer.price(project, "my-ft-model", None, TokenUsage(None, None))
    assert unknown == Price(None, CostSource.UNKNOWN_TOKENS)


@pytest.mark.parametrize(
    ("base", "dated"),
    [
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("claude-3-5-sonnet", "claude-3-5-sonnet-20241022"),
    ],
)
def test_an_override_prices_the_dated_snapshots_of_its_name(
    store: SqlStore, base: str, dated: str
) -> None:
    """The SDK records the response's model, a dated snapshot of the name in the code."""
    project = store.create_project("p").id
    pricer = Pricer(store)
    pricer.set_override(override(project, base))
    assert pricer.price(project, dated, None, USAGE) == Price(6_000_000_000, CostSource.OVERRIDE)
    described = pricer.describe(project, dated)
    assert (described.source, described.matched_model) == (CostSource.OVERRIDE, base)
    # not a prefix match: another model of that family keeps the table's price
    assert pricer.price(project, f"{base}-audio", None, USAGE).source is not CostSource.OVERRIDE


def test_an_override_of_the_dated_name_wins_over_its_undated_name(store: SqlStore) -> None:
    project = store.create_project("p").id
    pricer = Pricer(store)
    pricer.set_override(override(project, "gpt-4o-mini"))
    pricer.set_override(override(project, "GPT-4o-mini-2024-07-18", input_per_mtok="1"))
    # 1M x $1 + 0.5M x $8
    assert pricer.price(project, "gpt-4o-mini-2024-07-18", None, USAGE) == Price(
        5_000_000_000, CostSource.OVERRIDE
    )
    assert pricer.describe(project, "gpt-4o-mini-2024-07-18").matched_model == (
        "gpt-4o-mini-2024-07-18"
    )
    # another snapshot still takes the undated name's: 1M x $2 + 0.5M x $8
    assert pricer.price(project, "gpt-4o-mini-2025-01-31", None, USAGE) == Price(
        6_000_000_000, CostSource.OVERRIDE
    )
