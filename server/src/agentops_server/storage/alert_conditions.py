"""What each alert kind finds, as SQL: the occurrences of a rule not yet fired at `now`.

A rule looks at what happens after it was created, and at sessions started within LOOKBACK
(so one evaluation reads a bounded slice of the project through its start-time index).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, or_, select

from agentops_server.storage.alert_records import AlertKind, AlertOccurrence, AlertRule
from agentops_server.storage.records import nanos_to_usd, usd_to_nanos
from agentops_server.storage.schema import alert_firings, session_stats, sessions
from agentops_server.storage.wide_sums import joined, wide_sum

LOOKBACK = timedelta(days=2)
MAX_PER_EVALUATION = 1000  # occurrences one rule fires per evaluation; the rest come next time
FAIL = "Fail"


def find_occurrences(
    conn: Connection, dialect: str, rule: AlertRule, now: datetime
) -> list[AlertOccurrence]:
    """Occurrences of a session, daily-cost rule not fired yet (not the error rate: stateful)."""
    if rule.kind == AlertKind.DAILY_COST:
        return _daily_cost(conn, rule, now)
    return _sessions(conn, dialect, rule, now)


def error_rate(conn: Connection, rule: AlertRule, now: datetime) -> tuple[bool, dict[str, Any]]:
    """Whether the share of the project's sessions that ended in the last window_minutes with
    Fail is over the threshold (with at least min_sessions ended), and the figures."""
    window = timedelta(minutes=rule.window_minutes or 0)
    since = max(now - window, rule.created_at)
    failed = func.sum(case((sessions.c.end_state == FAIL, 1), else_=0))
    query = select(func.count(), failed).where(
        sessions.c.project_id == rule.project_id,
        sessions.c.init_timestamp >= now - window - LOOKBACK,
        sessions.c.end_timestamp > since,
        sessions.c.end_timestamp <= now,
    )
    total, fails = conn.execute(query).one()
    total, fails = int(total or 0), int(fails or 0)
    threshold = rule.threshold or Decimal(0)
    breached = total >= (rule.min_sessions or 1) and Decimal(fails) * 100 > threshold * total
    rate = (Decimal(fails) * 100 / total).quantize(Decimal("0.01")) if total else Decimal(0)
    details = {
        "window_minutes": rule.window_minutes,
        "window_start": (now - window).isoformat(),
        "window_end": now.isoformat(),
        "sessions_ended": total,
        "sessions_failed": fails,
        "error_rate_percent": str(rate),
        "threshold_percent": str(threshold),
        "min_sessions": rule.min_sessions,
    }
    return breached, details


def _not_fired(rule: AlertRule, occurrence: ColumnElement[Any]) -> ColumnElement[bool]:
    return ~exists().where(
        alert_firings.c.rule_id == rule.id, alert_firings.c.occurrence == occurrence
    )


def _seconds_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _session_condition(
    dialect: str, rule: AlertRule, now: datetime, cost: ColumnElement[Any]
) -> ColumnElement[bool]:
    threshold = rule.threshold or Decimal(0)
    kind = AlertKind(rule.kind)
    if kind == AlertKind.SESSION_FAILED:
        return sessions.c.end_state == FAIL
    if kind == AlertKind.SESSION_UNENDED:
        return sessions.c.auto_ended.is_(True)
    if kind == AlertKind.SESSION_COST:
        return cost > usd_to_nanos(threshold)
    if kind == AlertKind.SESSION_DURATION:
        seconds = float(threshold)
        running_long = and_(
            sessions.c.end_timestamp.is_(None),
            sessions.c.init_timestamp < now - timedelta(seconds=seconds),
        )
        ended_long = and_(
            sessions.c.end_timestamp.is_not(None),
            _seconds_between(dialect, sessions.c.init_timestamp, sessions.c.end_timestamp)
            > seconds,
        )
        return or_(running_long, ended_long)
    raise ValueError(f"{rule.kind} is not a session rule")


def _sessions(
    conn: Connection, dialect: str, rule: AlertRule, now: datetime
) -> list[AlertOccurrence]:
    cost = func.coalesce(session_stats.c.cost_nanos, 0)
    query = (
        select(
            sessions.c.id,
            sessions.c.init_timestamp,
            sessions.c.end_timestamp,
            sessions.c.end_state,
            sessions.c.end_state_reason,
            cost.label("cost_nanos"),
        )
        .select_from(sessions.outerjoin(session_stats))
        .where(
            sessions.c.project_id == rule.project_id,
            sessions.c.init_timestamp >= max(rule.created_at, now - LOOKBACK),
            _session_condition(dialect, rule, now, cost),
            _not_fired(rule, sessions.c.id),
        )
        .order_by(sessions.c.init_timestamp, sessions.c.id)
        .limit(MAX_PER_EVALUATION)
    )
    found = []
    for row in conn.execute(query).mappings():
        ended = row["end_timestamp"]
        duration = ((ended or now) - row["init_timestamp"]).total_seconds()
        details = {
            "session_id": row["id"],
            "started_at": row["init_timestamp"].isoformat(),
            "ended_at": None if ended is None else ended.isoformat(),
            "end_state": row["end_state"],
            "end_state_reason": row["end_state_reason"],
            "cost_usd": str(nanos_to_usd(int(row["cost_nanos"]))),
            "duration_seconds": round(duration, 3),
            "threshold": None if rule.threshold is None else str(rule.threshold),
        }
        found.append(AlertOccurrence(occurrence=row["id"], session_id=row["id"], details=details))
    return found


def _daily_cost(conn: Connection, rule: AlertRule, now: datetime) -> list[AlertOccurrence]:
    """Today and yesterday (UTC): a session started before midnight may still be spending."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    threshold = rule.threshold or Decimal(0)
    found = []
    for day in (today - timedelta(days=1), today):
        occurrence = f"day:{day.date().isoformat()}"
        if day + timedelta(days=1) <= rule.created_at:
            continue
        total = select(*wide_sum(session_stats.c.cost_nanos, "spent")).select_from(
            sessions.join(session_stats)
        )
        total = total.where(
            sessions.c.project_id == rule.project_id,
            sessions.c.init_timestamp >= day,
            sessions.c.init_timestamp < day + timedelta(days=1),
        )
        spent = int(joined(conn.execute(total).mappings().one())["spent"])
        if spent <= usd_to_nanos(threshold):
            continue
        fired = select(alert_firings.c.id).where(
            alert_firings.c.rule_id == rule.id, alert_firings.c.occurrence == occurrence
        )
        if conn.execute(fired).first() is not None:
            continue
        details = {
            "day": day.date().isoformat(),
            "cost_usd": str(nanos_to_usd(spent)),
            "threshold_usd": str(threshold),
        }
        found.append(AlertOccurrence(occurrence=occurrence, session_id=None, details=details))
    return found
