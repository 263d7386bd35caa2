"""Alert rules in storage, on both engines: each occurrence is claimed once (also by a second
store on the same database, as another worker or replica), deliveries are leased to one
process, and every attempt is kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from agentops_server.alerts.rules import parse_rule
from agentops_server.storage.alert_records import AlertAttempt, AlertRule
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.sql_store import SqlStore, open_store
from agentops_server.storage.store import NotFound
from tests.storage.builders import Seed, event

HOOK = "http://127.0.0.1:9/hook"


def add_rule(seed: Seed, kind: str, threshold: object = None, **extra: int) -> AlertRule:
    return seed.store.create_alert_rule(parse_rule(seed.project_id, kind, threshold, HOOK, **extra))


def session_at(
    seed: Seed,
    start: datetime,
    *,
    ended: datetime | None = None,
    state: str | None = None,
    cost_nanos: int | None = None,
) -> str:
    session_id = str(uuid.uuid4())
    write = SessionWrite(id=session_id, project_id=seed.project_id, init_timestamp=start)
    seed.store.write_session(write, create=True)
    if cost_nanos is not None:
        seed.store.append_events([event(session_id, cost_nanos=cost_nanos)])
    if ended is not None:
        end = SessionWrite(
            id=session_id, project_id=seed.project_id, end_timestamp=ended, end_state=state
        )
        seed.store.write_session(end, create=False)
    return session_id


@pytest.fixture
def other_store(store: SqlStore, database_url: str) -> Iterator[SqlStore]:
    """A second store on the same database: what another worker process or replica has."""
    opened = open_store(database_url)
    yield opened
    opened.close()


def test_rules_are_listed_per_project_and_removed_only_by_their_project(
    store: SqlStore, seed: Seed
) -> None:
    other = Seed.create(store, "Other")
    mine = add_rule(seed, "session_cost", "2.50")
    theirs = add_rule(other, "error_rate", 20, window_minutes=10, min_sessions=3)
    assert [r.id for r in store.list_alert_rules(seed.project_id)] == [mine.id]
    assert {r.id for r in store.list_alert_rules()} == {mine.id, theirs.id}
    (stored,) = store.list_alert_rules(other.project_id)
    assert (stored.kind, stored.threshold, stored.window_minutes, stored.min_sessions) == (
        "error_rate",
        Decimal(20),
        10,
        3,
    )
    with pytest.raises(NotFound):
        store.delete_alert_rule(seed.project_id, theirs.id)
    assert store.delete_alert_rule(seed.project_id, mine.id).id == mine.id
    assert store.list_alert_rules(seed.project_id) == []
    assert [r.id for r in store.list_alert_rules(other.project_id)] == [theirs.id]


def test_a_failed_session_fires_once_across_processes(
    store: SqlStore, other_store: SqlStore, seed: Seed
) -> None:
    rule = add_rule(seed, "session_failed")
    t = rule.created_at
    end = t + timedelta(seconds=5)
    failed = session_at(seed, t + timedelta(seconds=1), ended=end, state="Fail")
    session_at(seed, t + timedelta(seconds=1), ended=t + timedelta(seconds=5), state="Success")
    session_at(seed, t + timedelta(seconds=2))  # still running
    before = session_at(seed, t - timedelta(hours=1), ended=t, state="Fail")  # before the rule
    now = t + timedelta(seconds=10)
    (firing,) = store.fire_alert_rule(rule, now)
    assert (firing.session_id, firing.occurrence, firing.status) == (failed, failed, "pending")
    assert firing.details["end_state"] == "Fail"
    assert other_store.fire_alert_rule(rule, now) == []
    assert store.fire_alert_rule(rule, now + timedelta(minutes=1)) == []
    assert before not in {f.session_id for f in store.list_alert_firings(seed.project_id)}


def test_session_cost_and_duration_fire_once_per_session(store: SqlStore, seed: Seed) -> None:
    cost_rule = add_rule(seed, "session_cost", "0.5")
    duration_rule = add_rule(seed, "session_duration", 60)
    t = duration_rule.created_at
    expensive = session_at(seed, t + timedelta(seconds=1), cost_nanos=600_000_000)
    session_at(seed, t + timedelta(seconds=1), cost_nanos=400_000_000)
    long_ended = session_at(seed, t + timedelta(seconds=1), ended=t + timedelta(seconds=90))
    session_at(seed, t + timedelta(seconds=1), ended=t + timedelta(seconds=30))
    now = t + timedelta(seconds=50)
    (costly,) = store.fire_alert_rule(cost_rule, now)
    assert costly.session_id == expensive and costly.details["cost_usd"] == "0.6"
    (slow,) = store.fire_alert_rule(duration_rule, now)
    assert slow.session_id == long_ended and slow.details["duration_seconds"] == 89.0
    # a minute later the sessions still running (expensive, and the cheap one) are long too
    later = store.fire_alert_rule(duration_rule, t + timedelta(seconds=200))
    assert len(later) == 2 and long_ended not in {f.session_id for f in later}
    assert store.fire_alert_rule(cost_rule, t + timedelta(seconds=200)) == []


def test_the_longest_duration_a_rule_takes_fires_while_the_session_runs_and_once_ended(
    store: SqlStore, seed: Seed
) -> None:
    rule = add_rule(seed, "session_duration", 86400)  # the most a rule takes (1 day)
    t = rule.created_at
    running = session_at(seed, t + timedelta(seconds=1))
    assert store.fire_alert_rule(rule, t + timedelta(hours=23)) == []
    ended = session_at(
        seed, t + timedelta(seconds=1), ended=t + timedelta(days=1, hours=12), state="Success"
    )
    # evaluated only once, late: a day and a half after they started, both are found
    found = store.fire_alert_rule(rule, t + timedelta(days=1, hours=12, seconds=1))
    assert {f.session_id for f in found} == {running, ended}


def test_a_session_closed_by_the_sweeper_fires_the_unended_rule(
    store: SqlStore, seed: Seed
) -> None:
    rule = add_rule(seed, "session_unended")
    t = rule.created_at
    session_id = session_at(seed, t + timedelta(seconds=1))
    assert store.fire_alert_rule(rule, t + timedelta(seconds=2)) == []
    assert store.close_inactive_sessions(datetime.max.replace(tzinfo=t.tzinfo), "no end") == 1
    (firing,) = store.fire_alert_rule(rule, t + timedelta(seconds=3))
    assert firing.session_id == session_id and firing.details["end_state_reason"] == "no end"


def test_the_daily_cost_fires_once_per_utc_day(
    store: SqlStore, other_store: SqlStore, seed: Seed
) -> None:
    rule = add_rule(seed, "daily_cost", 1)
    t = rule.created_at
    session_at(seed, t + timedelta(seconds=1), cost_nanos=700_000_000)
    assert store.fire_alert_rule(rule, t + timedelta(seconds=2)) == []
    session_at(seed, t + timedelta(seconds=2), cost_nanos=700_000_000)
    (firing,) = store.fire_alert_rule(rule, t + timedelta(seconds=3))
    assert firing.occurrence == f"day:{t.date().isoformat()}"
    assert firing.details["cost_usd"] == "1.4"
    session_at(seed, t + timedelta(seconds=3), cost_nanos=700_000_000)
    assert other_store.fire_alert_rule(rule, t + timedelta(seconds=4)) == []


def test_a_daily_cost_rule_counts_the_whole_day_it_was_created_on(
    store: SqlStore, seed: Seed
) -> None:
    # as docs/alerts.md says: the one rule that looks at what came before it, in its day
    rule = add_rule(seed, "daily_cost", 1)
    midnight = rule.created_at.replace(hour=0, minute=0, second=0, microsecond=0)
    session_at(seed, midnight, cost_nanos=1_500_000_000)  # started before the rule, that day
    (firing,) = store.fire_alert_rule(rule, rule.created_at + timedelta(seconds=1))
    assert firing.details["cost_usd"] == "1.5"


def test_a_daily_cost_past_nine_billion_dollars_is_summed_exactly(
    store: SqlStore, seed: Seed
) -> None:
    """Past 2**63 nano-USD, SQLite's SUM raised "integer overflow": the rule never fired."""
    rule = add_rule(seed, "daily_cost", 1)
    t = rule.created_at
    for i in range(3):  # each under the session limit of 2**62 nano-USD
        session_at(seed, t + timedelta(seconds=1 + i), cost_nanos=2**62 - 1)
    (firing,) = store.fire_alert_rule(rule, t + timedelta(seconds=5))
    assert Decimal(firing.details["cost_usd"]) == Decimal(3 * (2**62 - 1)) / 10**9


def test_the_error_rate_fires_once_per_episode_and_again_after_recovering(
    store: SqlStore, other_store: SqlStore, seed: Seed
) -> None:
    rule = add_rule(seed, "error_rate", 50, window_minutes=10, min_sessions=2)
    t = rule.created_at

    def ended(offset: float, state: str) -> None:
        moment = t + timedelta(seconds=offset)
        session_at(seed, moment - timedelta(seconds=1), ended=moment, state=state)

    ended(10, "Fail")  # 1 of 1 failed: fewer than min_sessions
    assert store.fire_alert_rule(rule, t + timedelta(seconds=20)) == []
    ended(30, "Fail")  # 2 of 2
    (firing,) = store.fire_alert_rule(rule, t + timedelta(seconds=40))
    assert firing.occurrence == "episode:1"
    assert (firing.details["sessions_ended"], firing.details["sessions_failed"]) == (2, 2)
    assert firing.details["error_rate_percent"] == "100.00"
    assert other_store.fire_alert_rule(rule, t + timedelta(seconds=41)) == []
    ended(50, "Success")  # 2 of 3: still over 50%
    assert store.fire_alert_rule(rule, t + timedelta(seconds=60)) == []
    ended(70, "Success")
    ended(80, "Success")  # 2 of 5: recovered
    assert store.fire_alert_rule(rule, t + timedelta(seconds=90)) == []
    for offset in (100, 110, 120, 130):
        ended(offset, "Fail")  # 6 of 9
    (again,) = other_store.fire_alert_rule(rule, t + timedelta(seconds=140))
    assert again.occurrence == "episode:2"
    # ten minutes on, only the last failures are in the window; it stays one episode
    assert store.fire_alert_rule(rule, t + timedelta(seconds=700)) == []


def test_a_delivery_is_leased_to_one_process_and_every_attempt_is_kept(
    store: SqlStore, other_store: SqlStore, seed: Seed
) -> None:
    rule = add_rule(seed, "session_failed")
    t = rule.created_at
    session_at(seed, t + timedelta(seconds=1), ended=t + timedelta(seconds=2), state="Fail")
    (firing,) = store.fire_alert_rule(rule, t + timedelta(seconds=3))
    now = t + timedelta(seconds=4)
    (leased,) = store.claim_alert_deliveries(now, now + timedelta(minutes=1))
    assert (leased.firing.id, leased.attempt, leased.project_name) == (firing.id, 1, "Test")
    assert leased.rule.webhook_url == HOOK
    assert other_store.claim_alert_deliveries(now, now + timedelta(minutes=1)) == []
    retry_at = now + timedelta(seconds=30)
    failed = AlertAttempt(attempt=1, at=now, ok=False, status_code=500, error="HTTP 500")
    store.record_alert_attempt(firing.id, failed, retry_at)
    assert other_store.claim_alert_deliveries(now, now + timedelta(minutes=1)) == []  # not due
    (second,) = other_store.claim_alert_deliveries(retry_at, retry_at + timedelta(minutes=1))
    assert second.attempt == 2
    delivered = AlertAttempt(attempt=2, at=retry_at, ok=True, status_code=204, error=None)
    other_store.record_alert_attempt(firing.id, delivered, None)
    (history,) = store.list_alert_firings(seed.project_id)
    assert (history.status, history.attempts, history.delivered_at) == ("delivered", 2, retry_at)
    assert [(a.attempt, a.ok, a.status_code) for a in history.history] == [
        (1, False, 500),
        (2, True, 204),
    ]
    next_day = retry_at + timedelta(days=1)
    assert store.claim_alert_deliveries(next_day, next_day + timedelta(days=1)) == []


def test_an_expired_lease_is_taken_over_and_the_last_attempt_gives_up(
    store: SqlStore, other_store: SqlStore, seed: Seed
) -> None:
    rule = add_rule(seed, "session_failed")
    t = rule.created_at
    session_at(seed, t + timedelta(seconds=1), ended=t + timedelta(seconds=2), state="Fail")
    (firing,) = store.fire_alert_rule(rule, t + timedelta(seconds=3))
    now = t + timedelta(seconds=4)
    assert len(store.claim_alert_deliveries(now, now + timedelta(seconds=60))) == 1
    # the process that leased it died: after the lease, another one takes over
    later = now + timedelta(seconds=61)
    (taken,) = other_store.claim_alert_deliveries(later, later + timedelta(seconds=60))
    assert taken.attempt == 2
    gave_up = AlertAttempt(attempt=2, at=later, ok=False, status_code=None, error="refused")
    other_store.record_alert_attempt(firing.id, gave_up, None)
    (history,) = store.list_alert_firings(seed.project_id, rule.id)
    assert history.status == "failed"
    next_day = later + timedelta(days=1)
    assert store.claim_alert_deliveries(next_day, next_day + timedelta(days=1)) == []


def test_removing_a_rule_removes_its_history_and_an_attempt_in_flight_is_dropped(
    store: SqlStore, seed: Seed
) -> None:
    rule = add_rule(seed, "session_failed")
    t = rule.created_at
    session_at(seed, t + timedelta(seconds=1), ended=t + timedelta(seconds=2), state="Fail")
    (firing,) = store.fire_alert_rule(rule, t + timedelta(seconds=3))
    store.delete_alert_rule(seed.project_id, rule.id)
    attempt = AlertAttempt(attempt=1, at=t, ok=True, status_code=200, error=None)
    store.record_alert_attempt(firing.id, attempt, None)
    assert store.list_alert_firings(seed.project_id) == []


def test_deliveries_are_leased_at_most_per_rule_at_once_and_none_of_skipped_rules(
    store: SqlStore, seed: Seed
) -> None:
    hanging, other = add_rule(seed, "session_failed"), add_rule(seed, "session_cost", 1)
    t = max(hanging.created_at, other.created_at)
    for offset in range(4):
        start = t + timedelta(seconds=1 + offset)
        session_at(seed, start, ended=start, state="Fail", cost_nanos=2_000_000_000)
    assert len(store.fire_alert_rule(hanging, t + timedelta(seconds=10))) == 4
    assert len(store.fire_alert_rule(other, t + timedelta(seconds=11))) == 4
    now, lease = t + timedelta(seconds=12), timedelta(minutes=1)
    leased = store.claim_alert_deliveries(now, now + lease, 10, per_rule=3)
    # the oldest due first: three of the first rule's, then three of the other's
    assert [d.rule.id for d in leased] == [hanging.id] * 3 + [other.id] * 3
    skipped = store.claim_alert_deliveries(now, now + lease, 10, skip_rules={hanging.id})
    assert [d.rule.id for d in skipped] == [other.id]
    (last,) = store.claim_alert_deliveries(now, now + lease, 10)
    assert last.rule.id == hanging.id
    assert store.claim_alert_deliveries(now, now + lease, 10) == []
