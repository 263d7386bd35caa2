"""Appending events: insert-or-skip by (session_id, id), then add exactly the inserted rows to
session_stats with `col = col + delta`, all in the caller's transaction.

Rows are written in (session_id, id) order so concurrent PostgreSQL transactions take row
locks in one order; the session rows are locked first, which also proves they exist.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, bindparam, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from agentops_server.storage import search_index, session_words, sqlite_events, sqlite_sessions
from agentops_server.storage.records import AppendResult, EventWrite
from agentops_server.storage.schema import STAT_COUNTERS, session_stats, sessions
from agentops_server.storage.sqlite_events import EVENT_INSERT_COLUMNS, sqlite_time
from agentops_server.storage.store import LimitExceeded, NotFound
from agentops_server.storage.types import UTCDateTime, dumps

IDS_PER_STATEMENT = 1000  # bound parameters per IN list (SQLite allows 32766 per statement)
MAX_STAT_TOTAL = 2**62
"""A session's token and cost totals stop here (2**62 nano-USD is 4.6 billion USD): an append
that would pass it is refused whole (LimitExceeded), so `col + delta` stays inside int64."""


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
        self.add_events([event])

    def add_events(self, batch: Iterable[EventWrite]) -> None:
        """Fold events of this session into the delta (one pass, plain locals: a hot path)."""
        c = self.counters
        n = llms = tools = errors = actions = unknown = 0
        prompt = completion = cache_read = cache_write = reasoning = cost = 0
        first, last = self.first_event_at, self.last_event_at
        for e in batch:
            n += 1
            kind = e.event_type
            if kind == "llms":
                llms += 1
                if e.cost_nanos is None:
                    unknown += 1
            elif kind == "tools":
                tools += 1
            elif kind == "errors":
                errors += 1
            else:
                actions += 1
            if e.cost_nanos is not None:
                cost += e.cost_nanos
            prompt += e.prompt_tokens or 0
            completion += e.completion_tokens or 0
            cache_read += e.cache_read_tokens or 0
            cache_write += e.cache_write_tokens or 0
            reasoning += e.reasoning_tokens or 0
            start = e.init_timestamp
            end = e.end_timestamp or start
            if first is None or start < first:
                first = start
            if last is None or end > last:
                last = end
        for name, amount in (
            ("events", n), ("llms", llms), ("tools", tools), ("actions", actions),
            ("errors", errors), ("prompt_tokens", prompt), ("completion_tokens", completion),
            ("cache_read_tokens", cache_read), ("cache_write_tokens", cache_write),
            ("reasoning_tokens", reasoning), ("cost_nanos", cost),
            ("unknown_cost_events", unknown),
        ):  # fmt: skip
            if amount:
                c[name] = c.get(name, 0) + amount
        self.first_event_at, self.last_event_at = first, last


def insert_ignore(dialect: str, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, for either engine."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@functools.cache
def _stat_update() -> Any:
    """UPDATE session_stats SET col = col + :d_col ..., built once: constructing and hashing
    this statement per transaction cost more than running it for small batches."""
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
    return (
        update(session_stats)
        .where(session_stats.c.session_id == bindparam("d_session_id"))
        .values(values)
    )


def apply_stat_deltas(conn: Connection, deltas: dict[str, StatDelta]) -> None:
    """Add deltas to session_stats atomically (`col = col + :delta`), sessions in id order."""
    if not deltas:
        return
    sqlite = conn.dialect.name == "sqlite"
    params = []
    summed: set[str] = set()  # the counters that can approach MAX_STAT_TOTAL
    for session_id in sorted(deltas):
        delta = deltas[session_id]
        for name, amount in delta.counters.items():
            if amount > MAX_STAT_TOTAL:
                raise _over_limit(session_id, name)
            if name not in _COUNTS:
                summed.add(name)
        row: dict[str, Any] = {f"d_{name}": delta.counters.get(name, 0) for name in STAT_COUNTERS}
        row["d_session_id"] = session_id
        if sqlite:
            row["d_first"] = sqlite_time(delta.first_event_at)
            row["d_last"] = sqlite_time(delta.last_event_at)
        else:
            row["d_first"] = delta.first_event_at
            row["d_last"] = delta.last_event_at
        params.append(row)
    if sqlite:
        sqlite_sessions.add_stats(conn, params)
    else:
        conn.execute(_stat_update(), params)
    if summed:
        _check_totals(conn, sorted(deltas), sorted(summed))


_COUNTS = frozenset({"events", "llms", "tools", "actions", "errors", "unknown_cost_events"})


@functools.lru_cache(maxsize=256)
def _totals_query(names: tuple[str, ...]) -> Any:
    columns = [session_stats.c[name] for name in names]
    return select(session_stats.c.session_id, *columns).where(
        session_stats.c.session_id.in_(bindparam("ids", expanding=True)),
        or_(*(column > MAX_STAT_TOTAL for column in columns)),
    )


def _check_totals(conn: Connection, session_ids: list[str], names: list[str]) -> None:
    """Raise LimitExceeded (rolling the caller's transaction back) if an update just took a
    session's total past MAX_STAT_TOTAL. Both terms were at most 2**62: the sum fit int64."""
    sqlite = conn.dialect.name == "sqlite"
    for start in range(0, len(session_ids), IDS_PER_STATEMENT):
        ids = session_ids[start : start + IDS_PER_STATEMENT]
        if sqlite:
            row = sqlite_sessions.first_over(conn, ids, tuple(names), MAX_STAT_TOTAL)
        else:
            row = conn.execute(_totals_query(tuple(names)), {"ids": ids}).first()
        if row is not None:
            over = next(
                n for n, value in zip(names, row[1:], strict=True) if value > MAX_STAT_TOTAL
            )
            raise _over_limit(row[0], over)


def _over_limit(session_id: str, name: str) -> LimitExceeded:
    what = "cost past 4.6 billion USD" if name == "cost_nanos" else f"{name} past {MAX_STAT_TOTAL}"
    return LimitExceeded(
        f"these events would take session {session_id}'s total {what}; nothing was stored"
    )


def touch_sessions(conn: Connection, session_ids: Iterable[str], now: datetime) -> None:
    """Mark sessions active (and reopen auto-ended ones); raise NotFound if any is missing.

    The usual case writes last_activity_at only, so no trigger on the end columns fires.
    """
    wanted = sorted(set(session_ids))
    if not wanted:
        return
    found: dict[str, bool] = {}
    touch, revive = _touch_statements()
    sqlite = conn.dialect.name == "sqlite"
    for start in range(0, len(wanted), IDS_PER_STATEMENT):
        ids = wanted[start : start + IDS_PER_STATEMENT]
        if sqlite:
            found.update(sqlite_sessions.touch(conn, ids, now))
        else:
            params = {"ids": ids, "now": now}
            found.update((row[0], bool(row[1])) for row in conn.execute(touch, params))
    missing = [s for s in wanted if s not in found]
    if missing:
        raise NotFound(f"session {missing[0]} not found")
    reopen = [s for s in wanted if found[s]]
    for start in range(0, len(reopen), IDS_PER_STATEMENT):
        # events arrived after an auto-end: the session is alive after all
        conn.execute(revive, {"ids": reopen[start : start + IDS_PER_STATEMENT]})
    if reopen:
        session_words.refresh(conn, conn.dialect.name, reopen)  # without the sweeper's reason


@functools.cache
def _touch_statements() -> tuple[Any, Any]:
    """Built once (see _stat_update): mark sessions active; reopen auto-ended ones."""
    chosen = sessions.c.id.in_(bindparam("ids", expanding=True))
    touch = (
        update(sessions)
        .where(chosen)
        .values(last_activity_at=bindparam("now", type_=UTCDateTime))
        .returning(sessions.c.id, sessions.c.auto_ended)
    )
    revive = (
        update(sessions)
        .where(chosen)
        .values(end_timestamp=None, end_state_reason=None, auto_ended=False)
    )
    return touch, revive


POSTGRES_COLUMN_TYPES = [
    "text", "text", "text", "timestamptz", "timestamptz", "text", "text", "text", "text",
    "bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "text", "jsonb", "text",
]  # fmt: skip
POSTGRES_INSERT_SQL = (
    f"INSERT INTO events ({','.join(EVENT_INSERT_COLUMNS)}) "
    f"SELECT {','.join(EVENT_INSERT_COLUMNS)} FROM json_to_recordset(%s::json) AS r("
    + ", ".join(
        f"{c} {t}" for c, t in zip(EVENT_INSERT_COLUMNS, POSTGRES_COLUMN_TYPES, strict=True)
    )
    + ") ON CONFLICT (session_id, id) DO NOTHING RETURNING session_id, id"
)


def _insert_postgres(conn: Connection, ordered: list[EventWrite]) -> list[EventWrite]:
    """PostgreSQL: a binary COPY straight into events, the fastest way in. COPY cannot skip
    conflicts, so it runs under a savepoint: if one id is already stored (a client's retry),
    nothing of it is kept and the batch goes through INSERT ... ON CONFLICT DO NOTHING."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    try:
        with conn.begin_nested(), raw.cursor() as cursor, cursor.copy(POSTGRES_COPY_SQL) as copy:
            copy.set_types(POSTGRES_COLUMN_TYPES)
            for e in ordered:
                copy.write_row(
                    (
                        e.session_id, e.id, e.event_type, e.init_timestamp, e.end_timestamp,
                        e.agent_id, e.name, e.model, e.provider, e.prompt_tokens,
                        e.completion_tokens, e.cache_read_tokens, e.cache_write_tokens,
                        e.reasoning_tokens, e.cost_nanos, e.cost_source.value,
                        Jsonb(e.payload, dumps=dumps), e.parent_id,
                    )
                )  # fmt: skip
    except psycopg.errors.UniqueViolation:
        return _insert_postgres_skipping(conn, ordered)
    except psycopg.Error as exc:  # the driver's own error, as SQLAlchemy would have raised it
        if raw.broken:
            conn.invalidate()
        raise DBAPIError.instance(
            POSTGRES_COPY_SQL, None, exc, psycopg.Error, connection_invalidated=raw.broken
        ) from exc
    return ordered


POSTGRES_COPY_SQL = f"COPY events ({','.join(EVENT_INSERT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"


def _insert_postgres_skipping(conn: Connection, ordered: list[EventWrite]) -> list[EventWrite]:
    """PostgreSQL, when some ids may be stored already: the whole batch as ONE JSON document
    expanded by the server (json_to_recordset), skipping stored ids; answers the new events."""
    rows = [
        {
            "session_id": e.session_id, "id": e.id, "event_type": e.event_type,
            "init_timestamp": e.init_timestamp.isoformat(),
            "end_timestamp": None if e.end_timestamp is None else e.end_timestamp.isoformat(),
            "agent_id": e.agent_id, "name": e.name, "model": e.model, "provider": e.provider,
            "prompt_tokens": e.prompt_tokens, "completion_tokens": e.completion_tokens,
            "cache_read_tokens": e.cache_read_tokens, "cache_write_tokens": e.cache_write_tokens,
            "reasoning_tokens": e.reasoning_tokens, "cost_nanos": e.cost_nanos,
            "cost_source": e.cost_source.value, "payload": e.payload, "parent_id": e.parent_id,
        }
        for e in ordered
    ]  # fmt: skip
    new = {(row[0], row[1]) for row in conn.exec_driver_sql(POSTGRES_INSERT_SQL, (dumps(rows),))}
    return [e for e in ordered if (e.session_id, e.id) in new]


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
    inserted: list[EventWrite] = []
    if unique:
        # by session (the statistics below go a session at a time), and within a session in
        # the order sent: seq breaks ties of init_timestamp, and events made in the same
        # microsecond must read back in the order they were recorded
        ordered = sorted(unique.values(), key=attrgetter("session_id"))
        if dialect == "sqlite":
            inserted = sqlite_events.insert_events(conn, ordered)
        else:
            inserted = _insert_postgres(conn, ordered)
    if len(inserted) == len(unique):  # the usual case: every distinct event was new
        inserted_per_batch = [0] * len(batches)
        for index in owner.values():
            inserted_per_batch[index] += 1
    else:
        inserted_per_batch = _per_batch(inserted, owner, len(batches))
    deltas: dict[str, StatDelta] = {}
    for session_id, of_session in groupby(inserted, attrgetter("session_id")):
        deltas[session_id] = delta = StatDelta()  # the events are in session order
        delta.add_events(of_session)
    apply_stat_deltas(conn, deltas)  # raises LimitExceeded first: the rollups stay in int64
    search_index.add_events(conn, dialect, inserted)
    return [
        AppendResult(
            inserted=inserted_per_batch[i],
            duplicates=len(batch) - inserted_per_batch[i],
            session_ids=session_order[i],
        )
        for i, batch in enumerate(batches)
    ]


def _per_batch(
    inserted: list[EventWrite], owner: dict[tuple[str, str], int], batches: int
) -> list[int]:
    """How many of the inserted events each submission brought first."""
    counts = [0] * batches
    for e in inserted:
        counts[owner[(e.session_id, e.id)]] += 1
    return counts
