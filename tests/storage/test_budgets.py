"""Project budgets in the store, on both engines: limits, and spend per UTC day and month."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agentops_server.budgets import day_of, month_of
from agentops_server.storage.budget_records import ProjectBudget, ProjectSpend
from agentops_server.storage.sql_store import SqlStore
from agentops_server.storage.store import NotFound
from tests.storage.builders import T0, Seed, event

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)  # T0 is 2026-11-01 12:00 UTC


def test_limits_are_set_replaced_and_cleared_per_project(store: SqlStore, seed: Seed) -> None:
    other = Seed.create(store, "Other")
    assert store.get_budget(seed.project_id) == ProjectBudget(seed.project_id)
    set_ = store.set_budget(seed.project_id, 10_000_000_000, None)
    assert set_.daily_limit_nanos == 10_000_000_000 and set_.monthly_limit_nanos is None
    assert store.get_budget(seed.project_id) == set_
    replaced = store.set_budget(seed.project_id, None, 300_000_000_000)
    assert store.get_budget(seed.project_id) == replaced
    assert (replaced.daily_limit_nanos, replaced.monthly_limit_nanos) == (None, 300_000_000_000)
    assert store.get_budget(other.project_id) == ProjectBudget(other.project_id)
    store.set_budget(seed.project_id, None, None)
    assert not store.get_budget(seed.project_id).has_limit


def test_an_unknown_project_has_no_budget(store: SqlStore) -> None:
    with pytest.raises(NotFound):
        store.get_budget("no-such-project")
    with pytest.raises(NotFound):
        store.set_budget("no-such-project", 1, 1)


def test_spend_adds_the_cost_of_the_projects_events_in_the_day_and_month(
    store: SqlStore, seed: Seed
) -> None:
    earlier_month = seed.session(start=-40 * 86400)  # 2026-09-22: ends before November
    old = earlier_month.id
    store.append_events([event(old, start=-40 * 86400, cost_nanos=7_000)])
    spanning = seed.session(start=-86400 * 2)  # started 2026-10-30, events into November
    today = seed.session(start=0)
    store.append_events(
        [
            event(spanning.id, start=-86400 * 2, cost_nanos=100),  # October: neither
            event(spanning.id, start=-3600, cost_nanos=20),  # Nov 1 11:00: day and month
            event(today.id, start=0, cost_nanos=3),
            event(today.id, start=1, cost_nanos=None),  # unpriced: adds nothing
            event(today.id, start=2, event_type="tools"),  # no cost
            event(today.id, start=86400, cost_nanos=400),  # Nov 2: month only
            event(today.id, start=-12 * 3600 + 30 * 86400, cost_nanos=5_000),  # Dec 1: neither
        ]
    )
    stranger = Seed.create(store, "Stranger")
    theirs = stranger.session(start=0)
    store.append_events([event(theirs.id, start=0, cost_nanos=900_000)])

    spend = store.project_spend(seed.project_id, day_of(T0), month_of(T0))
    assert spend == ProjectSpend(day_nanos=23, month_nanos=423)
    assert store.project_spend(stranger.project_id, day_of(T0), month_of(T0)) == ProjectSpend(
        900_000, 900_000
    )
    next_day = T0 + timedelta(days=1)
    assert (
        store.project_spend(seed.project_id, day_of(next_day), month_of(next_day)).day_nanos == 400
    )
    assert month_of(T0) == (NOV_1, datetime(2026, 12, 1, tzinfo=UTC))
    december = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert month_of(december) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert store.project_spend(seed.project_id, day_of(december), month_of(december)) == (
        ProjectSpend(0, 5_000)
    )


def test_repriced_events_change_the_spend(store: SqlStore, seed: Seed) -> None:
    session = seed.session(start=0)
    write = event(session.id, "e1", start=0, cost_nanos=1_000)
    store.append_events([write])
    store.set_event_costs([(session.id, "e1", 250, "override")])
    assert store.project_spend(seed.project_id, day_of(T0), month_of(T0)) == ProjectSpend(250, 250)


def test_an_event_that_ends_before_it_starts_still_counts(store: SqlStore, seed: Seed) -> None:
    """Clients send such events: the session's last event time is then before the event's
    start, and it is found by its activity instead."""
    session = seed.session(start=0)
    december = T0 + timedelta(days=31)  # 2026-12-02 12:00
    backwards = replace(event(session.id, start=0, cost_nanos=77), init_timestamp=december)
    store.append_events([backwards])
    spend = store.project_spend(seed.project_id, day_of(december), month_of(december))
    assert spend == ProjectSpend(77, 77)


def test_spend_equals_the_sum_over_events_for_any_mix_of_sessions(
    store: SqlStore, seed: Seed
) -> None:
    """Sessions wholly inside a period add their stats total, those straddling its start their
    events in it: for any mix, the result is the plain sum over events."""
    rng = random.Random(16)
    writes = []
    for _ in range(40):
        session = seed.session(start=rng.uniform(-3, 32) * 86400)
        first = rng.uniform(-3, 32) * 86400
        for _ in range(rng.randint(1, 5)):
            start = first + rng.uniform(0, 2) * 86400  # some sessions cross midnight
            duration = rng.choice([1.0, 3600.0, -7200.0])  # some end before they start
            writes.append(
                event(
                    session.id,
                    start=start,
                    duration=duration,
                    cost_nanos=rng.choice([None, rng.randint(1, 10**6)]),
                )
            )
    store.append_events(writes)
    moments = [T0, T0 + timedelta(hours=13), datetime(2026, 11, 30, 23, 59, tzinfo=UTC)]
    moments += [datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 10, 31, 12, tzinfo=UTC)]
    for now in moments:
        day, month = day_of(now), month_of(now)
        expected = ProjectSpend(
            day_nanos=sum(w.cost_nanos or 0 for w in writes if day[0] <= w.init_timestamp < day[1]),
            month_nanos=sum(
                w.cost_nanos or 0 for w in writes if month[0] <= w.init_timestamp < month[1]
            ),
        )
        assert store.project_spend(seed.project_id, day, month) == expected, now
