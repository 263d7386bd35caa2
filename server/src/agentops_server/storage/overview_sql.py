"""The overview's SQL: totals and per-hour or per-day series of the sessions started in a
range, every model their LLM calls used, and LLM latency percentiles (p50, p95).

Sums of int64 columns are taken in two 32-bit halves (storage/wide_sums.py).
Models come from the per-session rollup session_models. Latency percentiles are nearest-rank,
over a systematic sample of about LATENCY_SAMPLE LLM calls (all of them below that), read
once, so the cost stays bounded at any scale.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, select

from agentops_server.storage.dashboard_records import (
    BucketPoint,
    Latency,
    ModelCost,
    Overview,
    OverviewTotals,
)
from agentops_server.storage.model_calls import NO_MODEL
from agentops_server.storage.schema import events, session_models, session_stats, sessions
from agentops_server.storage.wide_sums import joined, total, wide_sum

LATENCY_SAMPLE = 10_000  # LLM calls measured for the percentiles, about (every n-th call)
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
    every = max(1, -(-totals.llms // LATENCY_SAMPLE))
    overall, by_bucket, by_model = _latency(conn, dialect, scope, bucket, every)
    points = [replace(p, llm=by_bucket.get(_key(p.start, hourly), Latency())) for p in points]
    models = [
        ModelCost(**{**m, "llm": by_model.get(m["model"] or NO_MODEL, Latency())})
        for m in _models(conn, scope)
    ]
    models.sort(key=lambda m: (-m.calls, -m.cost_nanos, m.model or ""))
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


def _count_if(condition: Any) -> Any:
    return total(case((condition, 1), else_=0))


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
                    wide_sum(session_stats.c[n], n)
                    if n in WIDE
                    else [total(session_stats.c[n]).label(n)]
                )
            ],
        )
        .join_from(sessions, session_stats, session_stats.c.session_id == sessions.c.id)
        .where(*scope)
        .group_by(key)
        .order_by(key)
    )
    found = [joined(r) for r in conn.execute(query).mappings()]
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
    """Every model's calls from the per-session rollup (storage/model_calls.py)."""
    m = session_models.c
    query = (
        select(
            m.model,
            *wide_sum(m.calls, "calls"),
            *wide_sum(m.failed_calls, "failed_calls"),
            *wide_sum(m.unpriced_calls, "unpriced_calls"),
            *wide_sum(m.prompt_tokens, "prompt_tokens"),
            *wide_sum(m.completion_tokens, "completion_tokens"),
            *wide_sum(m.cost_nanos, "cost_nanos"),
        )
        .join_from(session_models, sessions, sessions.c.id == m.session_id)
        .where(*scope)
        .group_by(m.model)
    )
    found = []
    for row in conn.execute(query).mappings():
        r = joined(row)
        model = r.pop("model")
        counts = {k: int(v) for k, v in r.items()}
        counts["unknown_cost_calls"] = counts["failed_calls"] + counts["unpriced_calls"]
        found.append({"model": None if model == NO_MODEL else model, **counts})
    return found


def _duration_ms(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", events.c.end_timestamp - events.c.init_timestamp) * 1000
    days = func.julianday(events.c.end_timestamp) - func.julianday(events.c.init_timestamp)
    return days * 86_400_000.0


def _latency(
    conn: Connection, dialect: str, scope: list[ColumnElement[bool]], bucket: Any, every: int
) -> tuple[Latency, dict[str, Latency], dict[str, Latency]]:
    """Nearest-rank p50 and p95 of the LLM calls' durations: overall, per time bucket and per
    model, from one read of every `every`-th call (by storage order: a sample that the
    (session, type, time, seq) index picks without reading the other rows)."""
    sampled = [] if every <= 1 else [events.c.seq % every == 0]
    query = (
        select(bucket, func.coalesce(events.c.model, NO_MODEL), _duration_ms(dialect))
        .join_from(events, sessions, sessions.c.id == events.c.session_id)
        .where(
            *scope,
            events.c.event_type == "llms",
            *sampled,
            events.c.end_timestamp.is_not(None),
        )
    )
    everything: list[float] = []
    by_bucket: dict[str, list[float]] = {}
    by_model: dict[str, list[float]] = {}
    for key, model, ms in conn.execute(query):
        value = float(ms)
        everything.append(value)
        by_bucket.setdefault(str(key), []).append(value)
        by_model.setdefault(str(model), []).append(value)
    return (
        _percentiles(everything),
        {k: _percentiles(v) for k, v in by_bucket.items()},
        {k: _percentiles(v) for k, v in by_model.items()},
    )


def _percentiles(values: list[float]) -> Latency:
    if not values:
        return Latency()
    values.sort()
    n = len(values)
    return Latency(
        n, _round(values[math.ceil(0.5 * n) - 1]), _round(values[math.ceil(0.95 * n) - 1])
    )


def _round(ms: Any) -> float | None:
    return None if ms is None else round(float(ms), 1)
