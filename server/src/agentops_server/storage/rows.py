"""Row-to-record conversion, shared by the SQL store modules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from sqlalchemy import RowMapping, Select, bindparam, select

from agentops_server.storage.records import (
    ApiKey,
    Event,
    PriceOverride,
    Project,
    Session,
    SessionStats,
)
from agentops_server.storage.schema import (
    STAT_COUNTERS,
    events,
    session_stats,
    sessions,
)
from agentops_server.storage.types import dumps

STATS_COLUMNS = [session_stats.c[name] for name in STAT_COUNTERS] + [
    session_stats.c.first_event_at,
    session_stats.c.last_event_at,
]


def session_select() -> Select[Any]:
    """Sessions joined with their stats, in the shape `to_session` reads."""
    return select(sessions, *STATS_COLUMNS).join_from(
        sessions, session_stats, session_stats.c.session_id == sessions.c.id
    )


SESSION_BY_ID = session_select().where(sessions.c.id == bindparam("session_id"))
"""One session by id (parameter `session_id`), built once: see session_write.py."""
SESSION_OF_PROJECT = SESSION_BY_ID.where(sessions.c.project_id == bindparam("project_id"))
"""One session by id (`session_id`) if it is `project_id`'s."""
SESSIONS_BY_IDS = session_select().where(
    sessions.c.id.in_(bindparam("session_ids", expanding=True))
)
"""Sessions by id (parameter `session_ids`, a list)."""
SESSIONS_OF_PROJECT = SESSIONS_BY_IDS.where(sessions.c.project_id == bindparam("project_id"))
"""Sessions by id (`session_ids`) that are `project_id`'s."""
IDS_PER_SELECT = 500
"""Ids bound in one IN (...) (SQLite allows 32766 parameters; PostgreSQL plans stay small)."""


def to_stats(session_id: str, row: Mapping[Any, Any]) -> SessionStats:
    return SessionStats(
        session_id=session_id,
        first_event_at=row["first_event_at"],
        last_event_at=row["last_event_at"],
        **{name: int(row[name]) for name in STAT_COUNTERS},
    )


_JSON_COLUMNS = ("tags", "host_env", "metadata", "dropped_events")
_TIME_COLUMNS = ("init_timestamp", "end_timestamp", "created_at")
_NO_EVENTS: dict[str, Any] = dict.fromkeys(STAT_COUNTERS, 0) | {
    "first_event_at": None,
    "last_event_at": None,
}


def new_session(values: Mapping[str, Any]) -> Session:
    """The session a row just inserted with these column values, as reading it would give it:
    no events yet, times in UTC, JSON columns as their stored text reads back."""
    row = dict(values) | _NO_EVENTS
    for name in _JSON_COLUMNS:
        if row[name] is not None:
            row[name] = json.loads(dumps(row[name]))
    for name in _TIME_COLUMNS:
        if row[name] is not None:
            row[name] = row[name].astimezone(UTC)
    return to_session(row)


def to_session(row: Mapping[Any, Any]) -> Session:
    return Session(
        id=row["id"],
        project_id=row["project_id"],
        init_timestamp=row["init_timestamp"],
        end_timestamp=row["end_timestamp"],
        end_state=row["end_state"],
        end_state_reason=row["end_state_reason"],
        tags=list(row["tags"] or []),
        host_env=row["host_env"],
        video=row["video"],
        parent_project_id=row["parent_project_id"],
        created_at=row["created_at"],
        auto_ended=bool(row["auto_ended"]),
        stats=to_stats(row["id"], row),
        name=row["name"],
        metadata=row["metadata"],
        root_span_id=row["root_span_id"],
        dropped_events=row["dropped_events"],
    )


EVENT_COLUMNS = [c for c in events.c]


def to_event(row: RowMapping) -> Event:
    return Event(
        id=row["id"],
        session_id=row["session_id"],
        event_type=row["event_type"],
        init_timestamp=row["init_timestamp"],
        end_timestamp=row["end_timestamp"],
        agent_id=row["agent_id"],
        name=row["name"],
        model=row["model"],
        provider=row["provider"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
        cost_nanos=row["cost_nanos"],
        cost_source=row["cost_source"],
        payload=row["payload"],
        seq=int(row["seq"]),
        parent_id=row["parent_id"],
    )


def to_project(row: RowMapping) -> Project:
    return Project(id=row["id"], name=row["name"], created_at=row["created_at"])


def to_api_key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        project_id=row["project_id"],
        label=row["label"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def to_price_override(row: RowMapping) -> PriceOverride:
    return PriceOverride(
        project_id=row["project_id"],
        model=row["model"],
        input_per_mtok=row["input_per_mtok"],
        output_per_mtok=row["output_per_mtok"],
        cache_read_per_mtok=row["cache_read_per_mtok"],
        cache_write_per_mtok=row["cache_write_per_mtok"],
    )
