"""Inserting events on SQLite, the hot path of ingest: prepared multi-row INSERTs run by the
driver over plain tuples (no SQLAlchemy type processing: the formats match UTCDateTime and
JsonDoc exactly).

Many rows per statement, not executemany: the driver lets go of the GIL only while SQLite runs a
statement, and taking it back waits for the thread that holds it to yield (up to the switch
interval). One row per statement made the writer wait that long for every row while a request
thread decoded spans (measured: a few hundred rows/s); 128 rows per statement let it insert while
the request threads work. Chunk sizes are powers of two (128, 64, ..., 1), so a handful of
statements stay prepared in the driver's cache.

Exactly-once: ON CONFLICT DO NOTHING skips ids stored already, and the caller must learn which
rows were new. Usually all of them are, which the statement's change count proves (the rows of
one call have distinct keys), so no RETURNING row has to be produced and fetched per event.
The insert runs under a savepoint; when the count falls short (a client's retry), it is rolled
back and the batch inserted again with RETURNING, which names the new rows.
"""

from __future__ import annotations

import functools
import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from agentops_server.storage.driver import sqlite_cursor
from agentops_server.storage.records import EventWrite
from agentops_server.storage.types import dumps

EVENT_INSERT_COLUMNS = (
    "session_id",
    "id",
    "event_type",
    "init_timestamp",
    "end_timestamp",
    "agent_id",
    "name",
    "model",
    "provider",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nanos",
    "cost_source",
    "payload",
    "parent_id",
)
_MARKS = "(" + ",".join("?" * len(EVENT_INSERT_COLUMNS)) + ")"
INSERT_SQL = (
    f"INSERT INTO events ({','.join(EVENT_INSERT_COLUMNS)}) VALUES {_MARKS}"
    " ON CONFLICT (session_id, id) DO NOTHING"
)
ROWS_PER_STATEMENT = 128  # a power of two (see above)
ROWS_PER_RETURNING_STATEMENT = 1000  # 18 parameters a row, under SQLite's 32766 limit
SAVEPOINT = "SAVEPOINT append_events"
RELEASE = "RELEASE append_events"
ROLLBACK = "ROLLBACK TO append_events"


def sqlite_time(value: datetime | None) -> str | None:
    """The text UTCDateTime stores on SQLite (same format as SQLAlchemy's DATETIME)."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # the usual case: drop "+00:00" (years are always 4 digits)
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: storage needs aware UTC timestamps")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def event_rows(ordered: list[EventWrite]) -> list[tuple[Any, ...]]:
    """The parameters of INSERT_SQL per event. Written out in one loop (no call per value
    for the usual UTC timestamps): this runs once per stored event."""
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for e in ordered:
        start, end = e.init_timestamp, e.end_timestamp
        append(
            (
                e.session_id, e.id, e.event_type,
                start.isoformat(" ", "microseconds")[:26]
                if start.tzinfo is UTC
                else sqlite_time(start),
                None
                if end is None
                else end.isoformat(" ", "microseconds")[:26]
                if end.tzinfo is UTC
                else sqlite_time(end),
                e.agent_id, e.name, e.model, e.provider, e.prompt_tokens, e.completion_tokens,
                e.cache_read_tokens, e.cache_write_tokens, e.reasoning_tokens, e.cost_nanos,
                e.cost_source._value_, dumps(e.payload), e.parent_id,
            )
        )  # fmt: skip
    return rows


def insert_events(conn: Connection, ordered: list[EventWrite]) -> list[EventWrite]:
    """Insert events of distinct (session_id, id), skipping stored ones; the new ones, in order."""
    rows = event_rows(ordered)
    with sqlite_cursor(conn, INSERT_SQL) as cursor:
        cursor.execute(SAVEPOINT)
        if _insert_chunked(cursor, rows) == len(rows):
            cursor.execute(RELEASE)
            return ordered
        cursor.execute(ROLLBACK)
        cursor.execute(RELEASE)
        new = set(_insert_returning(cursor, rows))
    return [e for e in ordered if (e.session_id, e.id) in new]


def _insert_chunked(cursor: sqlite3.Cursor, rows: list[tuple[Any, ...]]) -> int:
    """Insert the rows, many per statement; how many were new."""
    stored = 0
    start = 0
    while start < len(rows):
        size = ROWS_PER_STATEMENT
        while size > len(rows) - start:
            size //= 2
        chunk = rows[start : start + size]
        cursor.execute(_insert_sql(size), [value for row in chunk for value in row])
        stored += cursor.rowcount
        start += size
    return stored


@functools.lru_cache(maxsize=16)
def _insert_sql(rows: int) -> str:
    if rows == 1:
        return INSERT_SQL
    return (
        f"INSERT INTO events ({','.join(EVENT_INSERT_COLUMNS)}) VALUES "
        + ",".join([_MARKS] * rows)
        + " ON CONFLICT (session_id, id) DO NOTHING"
    )


def _insert_returning(cursor: sqlite3.Cursor, rows: list[tuple[Any, ...]]) -> list[tuple[str, str]]:
    """The same rows with RETURNING (the rows of a call in one multi-row INSERT per chunk, as
    RETURNING cannot run under executemany); the keys of the rows it stored."""
    keys: list[tuple[str, str]] = []
    for start in range(0, len(rows), ROWS_PER_RETURNING_STATEMENT):
        chunk = rows[start : start + ROWS_PER_RETURNING_STATEMENT]
        params = [value for row in chunk for value in row]
        keys += cursor.execute(_returning_sql(len(chunk)), params).fetchall()
    return keys


@functools.lru_cache(maxsize=64)
def _returning_sql(rows: int) -> str:
    return (
        f"INSERT INTO events ({','.join(EVENT_INSERT_COLUMNS)}) VALUES "
        + ",".join([_MARKS] * rows)
        + " ON CONFLICT (session_id, id) DO NOTHING RETURNING session_id, id"
    )
