"""The session rows an append touches on SQLite, as fixed SQL run by the driver (see
storage/driver.py): marking sessions active, and adding to their statistics. Same statements
and parameters as the SQLAlchemy Core versions in storage/appends.py (which PostgreSQL and the
rarer callers use), without their per-call compilation and type processing: an append is one
small transaction, and that work cost as much as the statements themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from agentops_server.storage.driver import sqlite_cursor
from agentops_server.storage.schema import STAT_COUNTERS
from agentops_server.storage.sqlite_events import sqlite_time


@functools.lru_cache(maxsize=256)
def touch_sql(ids: int) -> str:
    """Mark `ids` sessions active; answers each one found and whether it was auto-ended."""
    marks = ",".join("?" * ids)
    return (
        f"UPDATE sessions SET last_activity_at = ? WHERE id IN ({marks}) RETURNING id, auto_ended"
    )


def touch(conn: Connection, ids: Sequence[str], now: datetime) -> dict[str, bool]:
    """Sessions found among `ids` (at most IDS_PER_STATEMENT), and whether each was auto-ended."""
    sql = touch_sql(len(ids))
    with sqlite_cursor(conn, sql) as cursor:
        rows = cursor.execute(sql, (sqlite_time(now), *ids)).fetchall()
    return {row[0]: bool(row[1]) for row in rows}


def _later(column: str, bound: str, newer: str) -> str:
    """The column's value after the update: the bound if it is newer (or the column empty)."""
    return (
        f"CASE WHEN :{bound} IS NULL THEN {column}"
        f" WHEN {column} IS NULL OR {column} {newer} :{bound} THEN :{bound}"
        f" ELSE {column} END"
    )


STATS_UPDATE_SQL = (
    "UPDATE session_stats SET "
    + ", ".join(f"{name} = {name} + :d_{name}" for name in STAT_COUNTERS)
    + f", first_event_at = {_later('first_event_at', 'd_first', '>')}"
    + f", last_event_at = {_later('last_event_at', 'd_last', '<')}"
    + " WHERE session_id = :d_session_id"
)


def add_stats(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Run STATS_UPDATE_SQL once per row (a session's deltas; times already as sqlite text)."""
    with sqlite_cursor(conn, STATS_UPDATE_SQL) as cursor:
        cursor.executemany(STATS_UPDATE_SQL, rows)


@functools.lru_cache(maxsize=256)
def totals_sql(names: tuple[str, ...], ids: int, limit: int) -> str:
    """The first of `ids` sessions with one of the `names` totals past `limit`, if any."""
    marks = ",".join("?" * ids)
    over = " OR ".join(f"{name} > {limit}" for name in names)
    return (
        f"SELECT session_id, {', '.join(names)} FROM session_stats"
        f" WHERE session_id IN ({marks}) AND ({over}) LIMIT 1"
    )


def first_over(
    conn: Connection, ids: Sequence[str], names: tuple[str, ...], limit: int
) -> tuple[Any, ...] | None:
    sql = totals_sql(names, len(ids), limit)
    with sqlite_cursor(conn, sql) as cursor:
        row: tuple[Any, ...] | None = cursor.execute(sql, tuple(ids)).fetchone()
    return row
