"""Reading a session's events in time order, fast: the export path of 100,000-event sessions.

Runs hand-written SQL (exec_driver_sql) and builds Event records from plain rows, which skips
SQLAlchemy's per-value result processing (the slow part at this volume). Keyset
pagination on (init_timestamp, seq) keeps every chunk an index range scan.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from agentops_server.storage.records import Event
from agentops_server.storage.sqlite_events import sqlite_time

COLUMNS = (
    "seq", "id", "session_id", "event_type", "init_timestamp", "end_timestamp", "agent_id",
    "name", "model", "provider", "prompt_tokens", "completion_tokens", "cache_read_tokens",
    "cache_write_tokens", "reasoning_tokens", "cost_nanos", "cost_source", "payload",
    "parent_id",
)  # fmt: skip


@functools.lru_cache(maxsize=16)
def chunk_sql(dialect: str, by_type: bool, after: bool) -> str:
    mark = "?" if dialect == "sqlite" else "%s"
    where = [f"session_id = {mark}"]
    if by_type:
        where.append(f"event_type = {mark}")
    if after:
        # the plain `>=` bounds the index range on every planner; the row value is exact
        where.append(f"init_timestamp >= {mark}")
        where.append(f"(init_timestamp, seq) > ({mark}, {mark})")
    return (
        f"SELECT {', '.join(COLUMNS)} FROM events WHERE {' AND '.join(where)} "
        f"ORDER BY init_timestamp, seq LIMIT {mark}"
    )


def _sqlite_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _pg_stamp(value: datetime) -> datetime:
    return value.astimezone(UTC)


def read_chunk(
    conn: Connection,
    dialect: str,
    session_id: str,
    event_type: str | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Event]:
    """Up to `limit` events of the session after position `after`, in (time, seq) order."""
    sqlite = dialect == "sqlite"
    params: list[Any] = [session_id]
    if event_type is not None:
        params.append(event_type)
    if after is not None:
        stamp: Any = sqlite_time(after[0]) if sqlite else after[0]
        params += [stamp, stamp, after[1]]
    params.append(limit)
    sql = chunk_sql(dialect, event_type is not None, after is not None)
    rows = conn.exec_driver_sql(sql, tuple(params)).fetchall()
    stamp_of: Callable[[Any], datetime] = _sqlite_stamp if sqlite else _pg_stamp
    loads = json.loads if sqlite else None
    return [
        Event(
            id=r[1], session_id=r[2], event_type=r[3], init_timestamp=stamp_of(r[4]),
            end_timestamp=None if r[5] is None else stamp_of(r[5]), agent_id=r[6], name=r[7],
            model=r[8], provider=r[9],
            prompt_tokens=r[10], completion_tokens=r[11], cache_read_tokens=r[12],
            cache_write_tokens=r[13], reasoning_tokens=r[14], cost_nanos=r[15],
            cost_source=r[16], payload=loads(r[17]) if loads else r[17], seq=int(r[0]),
            parent_id=r[18],
        )
        for r in rows
    ]  # fmt: skip
