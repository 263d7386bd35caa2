"""Appending events: insert-or-skip by (session_id, id), then add exactly the inserted rows to
session_stats with `col = col + delta`, all in the caller's transaction.

Rows are written in (session_id, id) order so concurrent PostgreSQL transactions take row
locks in one order; the session rows are locked first, which also proves they exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, false, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from agentops_server.storage.records import AppendResult, EventWrite
from agentops_server.storage.schema import STAT_COUNTERS, events, session_stats, sessions
from agentops_server.storage.store import NotFound
from agentops_server.storage.types import UTCDateTime

COUNTED_TYPES = frozenset({"llms", "tools", "actions", "errors"})
TOKEN_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


@dataclass(slots=True)
class StatDelta:
    """What to add to one session's stats row."""

    counters: dict[str, int] = field(default_factory=dict)
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None

    def add(self, name: str, amount: int) -> None:
        if amount:
            self.counters[name] = self.counters.get(name, 0) + amount

    def add_event(self, event: EventWrite) -> None:
        self.add("events", 1)
        self.add(event.event_type if event.event_type in COUNTED_TYPES else "actions", 1)
        for name in TOKEN_FIELDS:
            value = getattr(event, name)
            if value:
                self.add(name, value)
        if event.cost_nanos is not None:
            self.add("cost_nanos", event.cost_nanos)
        elif event.event_type == "llms":
            self.add("unknown_cost_events", 1)
        start = event.init_timestamp
        end = event.end_timestamp or start
        if self.first_event_at is None or start < self.first_event_at:
            self.first_event_at = start
        if self.last_event_at is None or end > self.last_event_at:
            self.last_event_at = end


def insert_ignore(dialect: str, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, for either engine."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def apply_stat_deltas(conn: Connection, deltas: dict[str, StatDelta]) -> None:
    """Add deltas to session_stats atomically (`col = col + :delta`), sessions in id order."""
    if not deltas:
        return
    first = bindparam("d_first", type_=UTCDateTime)
    last = bindparam("d_last", type_=UTCDateTime)
    values: dict[str, Any] = {
        name: session_stats.c[name] + bindparam(f"d_{name}") for name in STAT_COUNTERS
    }
    values["first_event_at"] = case(
        (first.is_(None), session_stats.c.first_event_at),
        (
            or_(session_stats.c.first_event_at.is_(None), session_stats.c.first_event_at > first),
            first,
        ),
        else_=session_stats.c.first_event_at,
    )
    values["last_event_at"] = case(
        (last.is_(None), session_stats.c.last_event_at),
        (
            or_(session_stats.c.last_event_at.is_(None), session_stats.c.last_event_at < last),
            last,
        ),
        else_=session_stats.c.last_event_at,
    )
    stmt = (
        update(session_stats)
        .where(session_stats.c.session_id == bindparam("d_session_id"))
        .values(values)
    )
    params = []
    for session_id in sorted(deltas):
        delta = deltas[session_id]
        row: dict[str, Any] = {f"d_{name}": delta.counters.get(name, 0) for name in STAT_COUNTERS}
        row["d_session_id"] = session_id
        row["d_first"] = delta.first_event_at
        row["d_last"] = delta.last_event_at
        params.append(row)
    conn.execute(stmt, params)


def touch_sessions(conn: Connection, session_ids: Iterable[str], now: datetime) -> None:
    """Mark sessions active (and reopen auto-ended ones); raise NotFound if any is missing."""
    wanted = sorted(set(session_ids))
    if not wanted:
        return
    auto = sessions.c.auto_ended
    stmt = (
        update(sessions)
        .where(sessions.c.id.in_(wanted))
        .values(
            last_activity_at=now,
            end_timestamp=case((auto, None), else_=sessions.c.end_timestamp),
            end_state_reason=case((auto, None), else_=sessions.c.end_state_reason),
            auto_ended=false(),
        )
        .returning(sessions.c.id)
    )
    found = {row[0] for row in conn.execute(stmt)}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise NotFound(f"session {missing[0]} does not exist")


def _event_row(event: EventWrite) -> dict[str, Any]:
    return {
        "session_id": event.session_id,
        "id": event.id,
        "event_type": event.event_type,
        "init_timestamp": event.init_timestamp,
        "end_timestamp": event.end_timestamp,
        "agent_id": event.agent_id,
        "name": event.name,
        "model": event.model,
        "provider": event.provider,
        "prompt_tokens": event.prompt_tokens,
        "completion_tokens": event.completion_tokens,
        "cache_read_tokens": event.cache_read_tokens,
        "cache_write_tokens": event.cache_write_tokens,
        "reasoning_tokens": event.reasoning_tokens,
        "cost_nanos": event.cost_nanos,
        "cost_source": str(event.cost_source.value),
        "payload": event.payload,
    }


def append_batches(
    conn: Connection, dialect: str, batches: Sequence[Sequence[EventWrite]], now: datetime
) -> list[AppendResult]:
    """Append several submissions in the caller's transaction; one result per submission.

    An event id that appears more than once (within or across submissions, or already stored)
    is stored and counted once, credited to its first occurrence.
    """
    owner: dict[tuple[str, str], int] = {}
    unique: dict[tuple[str, str], EventWrite] = {}
    session_order: list[list[str]] = []
    for index, batch in enumerate(batches):
        seen_sessions: dict[str, None] = {}
        for event in batch:
            key = (event.session_id, event.id)
            seen_sessions[event.session_id] = None
            if key not in unique:
                unique[key] = event
                owner[key] = index
        session_order.append(list(seen_sessions))
    touch_sessions(conn, (s for batch_sessions in session_order for s in batch_sessions), now)
    inserted_keys: list[tuple[str, str]] = []
    if unique:
        stmt = (
            insert_ignore(dialect, events)
            .on_conflict_do_nothing(index_elements=["session_id", "id"])
            .returning(events.c.session_id, events.c.id)
        )
        rows = [_event_row(unique[key]) for key in sorted(unique)]
        inserted_keys = [(r[0], r[1]) for r in conn.execute(stmt, rows)]
    deltas: dict[str, StatDelta] = {}
    inserted_per_batch = [0] * len(batches)
    for key in inserted_keys:
        event = unique[key]
        deltas.setdefault(event.session_id, StatDelta()).add_event(event)
        inserted_per_batch[owner[key]] += 1
    apply_stat_deltas(conn, deltas)
    return [
        AppendResult(
            inserted=inserted_per_batch[i],
            duplicates=len(batch) - inserted_per_batch[i],
            session_ids=session_order[i],
        )
        for i, batch in enumerate(batches)
    ]
