"""Each session's LLM calls per model (table session_models), added at ingest in the append's
transaction with `col = col + delta`, like session_stats: what the model filter and the
overview's models read instead of every event."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Select, select

from agentops_server.storage.driver import sqlite_cursor
from agentops_server.storage.records import EventWrite
from agentops_server.storage.schema import MODEL_COUNTERS, session_models, sessions
from agentops_server.storage.types import dumps

NO_MODEL = ""  # the model of LLM calls that named none

_SET = ", ".join(f"{c} = session_models.{c} + excluded.{c}" for c in MODEL_COUNTERS)
_COLUMNS = ", ".join(("session_id", "model", *MODEL_COUNTERS))
_MARKS = ", ".join("?" * (2 + len(MODEL_COUNTERS)))
SQLITE_UPSERT = (
    f"INSERT INTO session_models ({_COLUMNS}) VALUES ({_MARKS})"
    f" ON CONFLICT (session_id, model) DO UPDATE SET {_SET}"
)
POSTGRES_UPSERT = (
    f"INSERT INTO session_models ({_COLUMNS}) SELECT r->>0, r->>1, "
    + ", ".join(f"(r->>{i + 2})::bigint" for i in range(len(MODEL_COUNTERS)))
    + " FROM json_array_elements(%s::json) AS r"
    + f" ON CONFLICT (session_id, model) DO UPDATE SET {_SET}"
)


def add_calls(conn: Connection, dialect: str, events: Iterable[EventWrite]) -> None:
    """Count newly stored LLM calls into their session's row for their model."""
    rows: dict[tuple[str, str], list[int]] = {}
    for e in events:
        if e.event_type != "llms":
            continue
        row = rows.setdefault((e.session_id, e.model or NO_MODEL), [0] * len(MODEL_COUNTERS))
        tokens = (e.prompt_tokens or 0) + (e.completion_tokens or 0)
        row[0] += 1
        if e.cost_nanos is None:
            row[1 if tokens == 0 else 2] += 1
        row[3] += e.prompt_tokens or 0
        row[4] += e.completion_tokens or 0
        row[5] += e.cost_nanos or 0
    add_counts(conn, dialect, rows)


def add_counts(conn: Connection, dialect: str, rows: dict[tuple[str, str], list[int]]) -> None:
    """Add counts (MODEL_COUNTERS, in order; negative ones subtract) to each (session,
    model) row, inserting those not there yet."""
    if not rows:
        return
    ordered = [[sid, model, *counts] for (sid, model), counts in sorted(rows.items())]
    if dialect == "sqlite":
        with sqlite_cursor(conn, SQLITE_UPSERT) as cursor:
            cursor.executemany(SQLITE_UPSERT, ordered)
    else:
        conn.exec_driver_sql(POSTGRES_UPSERT, (dumps(ordered),))


def sessions_with_model(model: str) -> Select[tuple[str]]:
    return select(session_models.c.session_id).where(session_models.c.model == model)


def models_of_recent_sessions(project_id: str, sessions_read: int) -> Select[tuple[str]]:
    """The models named by the LLM calls of the project's `sessions_read` newest sessions, by
    name: a bounded read (the newest sessions through their index, then each one's rows)."""
    newest = (
        select(sessions.c.id)
        .where(sessions.c.project_id == project_id)
        .order_by(sessions.c.init_timestamp.desc(), sessions.c.id.desc())
        .limit(sessions_read)
        .subquery()
    )
    m = session_models.c
    return (
        select(m.model)
        .join_from(newest, session_models, m.session_id == newest.c.id)
        .where(m.model != NO_MODEL)
        .distinct()
        .order_by(m.model)
    )
