"""The overview's SQL: totals and per-hour or per-day series of the sessions started in a
range, every model their LLM calls used, and LLM latency percentiles (p50, p95).

Sums of int64 columns are taken in two 32-bit halves (SQLite's SUM raises past int64).
Percentiles are nearest-rank, computed by the database with window functions, so no event
leaves it; one sort of the range's LLM calls per grouping (time bucket, model, overall).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, select

from agentops_server.storage.dashboard_records import (
    BucketPoint,
    Latency,
    ModelCost,
    Overview,
    OverviewTotals,
)
from agentops_server.storage.schema import events, session_stats, sessions

_HALF = 2**32
WIDE = frozenset({"prompt_tokens", "completion_tokens", "cost_nanos"})
COUNTERS = ["events", "llms", "tools", "actions", "errors", "prompt_tokens"]
COUNTERS += ["completion_tokens", "cost_nanos", "unknown_cost_events"]


def read_overview(
    conn: Connection,
    dialect: str,
    project_id: str,
    start: datetime | None,
    end: datetime | None,
    hourly: bool,
) -> Overview:
    scope = [sessions.c.project_id == project_id]
    if start is not None:
        scope.append(sessions.c.init_timestamp >= start)
    if end is not None:
        scope.append(sessions.c.init_timestamp < end)
    bucket = _bucket(dialect, hourly)
    totals, points = _series(conn, scope, bucket)
    by_bucket = _latency(conn, dialect, scope, bucket)
    points = [replace(p, llm=by_bucket.get(_key(p.start, hourly), Latency())) for p in points]
    by_model = _latency(conn, dialect, scope, events.c.model)
    models = [
        ModelCost(**{**m, "llm": by_model.get(m["model"], Latency())}) for m in _models(conn, scope)
    ]
    models.sort(key=lambda m: (-m.calls, -m.cost_nanos, m.model or ""))
    overall = _latency(conn, dialect, scope, literal(1)).get(1, Latency())
    return Overview(
        totals=totals,
        bucket="hour" if hourly else "day",
        points=points,
        models=models,
        llm=overall,
    )


def _bucket(dialect: str, hourly: bool) -> Any:
    """The UTC hour ("YYYY-MM-DD HH") or day ("YYYY-MM-DD") a session started in, as text."""
    if dialect == "postgresql":
        shape = "YYYY-MM-DD HH24" if hourly else "YYYY-MM-DD"
        return func.to_char(func.timezone("UTC", sessions.c.init_timestamp), shape)
    return func.substr(sessions.c.init_timestamp, 1, 13 if hourly else 10)


def _key(when: datetime, hourly: bool) -> str:
    return when.strftime("%Y-%m-%d %H" if hourly else "%Y-%m-%d")


def _start(key: str) -> datetime:
    shape = "%Y-%m-%d %H" if len(key) > 10 else "%Y-%m-%d"
    return datetime.strptime(key, shape).replace(tzinfo=UTC)


def _sum(column: Any) -> Any:
    return func.coalesce(func.sum(column), 0)


def _wide_sum(column: Any, name: str) -> list[Any]:
    """SUM of an int64 column that cannot overflow: the high and low 32 bits summed apart,
    joined again by _joined. Exact below 2**31 rows."""
    return [
        _sum(column // _HALF).label(f"{name}__hi"),
        _sum(column % _HALF).label(f"{name}__lo"),
    ]


def _joined(row: Any) -> dict[str, Any]:
    """A result row with each wide sum's two halves joined into one exact int."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name, _, half = key.partition("__")
        if half == "hi":
            out[name] = out.get(name, 0) + int(value) * _HALF
        elif half == "lo":
            out[name] = out.get(name, 0) + int(value)
        else:
            out[key] = value
    return out


def _count_if(condition: Any) -> Any:
    return _sum(case((condition, 1), else_=0))


def _series(
    conn: Connection, scope: list[ColumnElement[bool]], bucket: Any
) -> tuple[OverviewTotals, list[BucketPoint]]:
    """One pass over the range: per-bucket sums, whose sum is the totals."""
    key = bucket.label("bucket")
    query = (
        select(
            key,
            func.count().label("sessions"),
            _count_if(sessions.c.end_state == "Success").label("success"),
            _count_if(sessions.c.end_state == "Fail").label("fail"),
            _count_if(sessions.c.end_state == "Indeterminate").label("indeterminate"),
            _count_if(session_stats.c.errors > 0).label("with_errors"),
            *[
                part
                for n in COUNTERS
                for part in (
                    _wide_sum(session_stats.c[n], n)
                    if n in WIDE
                    else [_sum(session_stats.c[n]).label(n)]
                )
            ],
        )
        .join_from(sessions, session_stats, session_stats.c.session_id == sessions.c.id)
        .where(*scope)
        .group_by(key)
        .order_by(key)
    )
    found = [_joined(r) for r in conn.execute(query).mappings()]
    rows = [{k: int(v) for k, v in r.items() if k != "bucket"} for r in found]
    names = ["sessions", "success", "fail", "indeterminate", *COUNTERS]
    totals = OverviewTotals(**{n: sum(r[n] for r in rows) for n in names})
    points = [
        BucketPoint(
            _start(str(r["bucket"])),
            sums["sessions"],
            sums["success"],
            sums["fail"],
            sums["indeterminate"],
            sums["with_errors"],
            sums["cost_nanos"],
            sums["prompt_tokens"],
            sums["completion_tokens"],
        )
        for r, sums in zip(found, rows, strict=True)
    ]
    return totals, points


def _models(conn: Connection, scope: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
    tokens = func.coalesce(events.c.prompt_tokens, 0) + func.coalesce(events.c.completion_tokens, 0)
    unknown = events.c.cost_nanos.is_(None)
    query = (
        select(
            events.c.model,
            func.count().label("calls"),
            *_wide_sum(events.c.prompt_tokens, "prompt_tokens"),
            *_wide_sum(events.c.completion_tokens, "completion_tokens"),
            *_wide_sum(events.c.cost_nanos, "cost_nanos"),
            _count_if(unknown).label("unknown_cost_calls"),
            _count_if(and_(unknown, tokens == 0)).label("failed_calls"),
            _count_if(and_(unknown, tokens > 0)).label("unpriced_calls"),
        )
        .join_from(events, sessions, sessions.c.id == events.c.session_id)
        .where(*scope, events.c.event_type == "llms")
        .group_by(events.c.model)
    )
    rows = [_joined(r) for r in conn.execute(query).mappings()]
    return [
        {"model": r["model"], **{k: int(v) for k, v in r.items() if k != "model"}} for r in rows
    ]


def _duration_ms(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", events.c.end_timestamp - events.c.init_timestamp) * 1000
    days = func.julianday(events.c.end_timestamp) - func.julianday(events.c.init_timestamp)
    return days * 86_400_000.0


def _latency(
    conn: Connection, dialect: str, scope: list[ColumnElement[bool]], group: Any
) -> dict[Any, Latency]:
    """Nearest-rank p50 and p95 of the LLM calls' durations per value of `group`."""
    calls = (
        select(group.label("g"), _duration_ms(dialect).label("ms"))
        .join_from(events, sessions, sessions.c.id == events.c.session_id)
        .where(*scope, events.c.event_type == "llms", events.c.end_timestamp.is_not(None))
        .subquery()
    )
    ranked = select(
        calls.c.g,
        calls.c.ms,
        func.row_number().over(partition_by=calls.c.g, order_by=calls.c.ms).label("rn"),
        func.count().over(partition_by=calls.c.g).label("n"),
    ).subquery()
    query = select(
        ranked.c.g,
        ranked.c.n,
        func.min(case((ranked.c.rn >= ranked.c.n * 0.5, ranked.c.ms))).label("p50"),
        func.min(case((ranked.c.rn >= ranked.c.n * 0.95, ranked.c.ms))).label("p95"),
    ).group_by(ranked.c.g, ranked.c.n)
    return {g: Latency(int(n), _round(p50), _round(p95)) for g, n, p50, p95 in conn.execute(query)}


def _round(ms: Any) -> float | None:
    return None if ms is None else round(float(ms), 1)
