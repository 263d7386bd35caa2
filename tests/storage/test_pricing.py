"""Price overrides, and re-pricing that moves session stats by exactly the difference."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agentops_server.storage.records import PriceOverride
from agentops_server.storage.store import NotFound
from tests.storage.builders import Seed, event


def test_price_overrides_round_trip_exactly(seed: Seed) -> None:
    store = seed.store
    other = Seed.create(store, "other")
    o1 = PriceOverride(seed.project_id, "my-model", Decimal("0.15"), Decimal("0.6000000001"))
    o2 = PriceOverride(
        other.project_id, "gpt-4o", Decimal("2.5"), Decimal("10"), Decimal("1.25"), Decimal("3.75")
    )
    store.set_price_override(o1)
    store.set_price_override(o2)
    assert store.list_price_overrides(seed.project_id) == [o1]
    assert len(store.list_price_overrides()) == 2
    changed = PriceOverride(seed.project_id, "my-model", Decimal("1"), Decimal("2"))
    store.set_price_override(changed)  # an upsert
    assert store.list_price_overrides(seed.project_id) == [changed]
    store.delete_price_override(seed.project_id, "my-model")
    assert store.list_price_overrides(seed.project_id) == []
    with pytest.raises(NotFound):
        store.delete_price_override(seed.project_id, "my-model")


def test_set_event_costs_adjusts_stats_by_the_difference(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    seed.session("s2")
    store.append_events(
        [
            event("s1", "priced", cost_nanos=1_000),
            event("s1", "unknown", cost_nanos=None),
            event("s1", "tool", event_type="tools"),
            event("s2", "other", cost_nanos=500),
        ]
    )
    assert store.count_llm_events(seed.project_id) == 3
    llm_ids = [(e.session_id, e.id) for e in store.iter_llm_events(seed.project_id, chunk_size=2)]
    assert llm_ids == [("s1", "priced"), ("s1", "unknown"), ("s2", "other")]

    store.set_event_costs(
        [
            ("s1", "priced", 250, "override"),
            ("s1", "unknown", 4_000, "override"),
            ("s2", "other", None, "unknown_model"),
        ]
    )
    s1 = store.get_stats(seed.project_id, "s1")
    assert s1.cost_nanos == 4_250 and s1.unknown_cost_events == 0 and s1.events == 3
    s2 = store.get_stats(seed.project_id, "s2")
    assert s2.cost_nanos == 0 and s2.unknown_cost_events == 1
    by_id = {e.id: e for e in store.iter_events("s1")}
    assert (by_id["unknown"].cost_nanos, by_id["unknown"].cost_source) == (4_000, "override")

    store.set_event_costs([("s1", "priced", 250, "override")])  # same again: no change
    assert store.get_stats(seed.project_id, "s1").cost_nanos == 4_250


def test_llm_events_of_all_projects(seed: Seed) -> None:
    store = seed.store
    other = Seed.create(store, "other")
    seed.session("mine")
    other.session("theirs")
    store.append_events([event("mine", "m"), event("theirs", "t")])
    assert store.count_llm_events(None) == 2
    assert store.count_llm_events(other.project_id) == 1
    assert [e.id for e in store.iter_llm_events(None)] == ["m", "t"]
