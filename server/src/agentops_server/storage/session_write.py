"""Creating, re-attaching and updating sessions, in the caller's write transaction."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, insert, select, update

from agentops_server.storage import search_index
from agentops_server.storage.appends import insert_ignore
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.schema import session_stats, session_tags, sessions
from agentops_server.storage.store import Conflict, NotFound

INDETERMINATE = "Indeterminate"


def unique_tags(tags: list[str]) -> list[str]:
    """Tags without repeats, first occurrence order kept."""
    return list(dict.fromkeys(tags))


def merged_losses(stored: dict[str, int] | None, reported: dict[str, int]) -> dict[str, int]:
    """The SDK reports cumulative counts, in any order and possibly more than once: the larger
    count of each reason wins, so a retried or late update never lowers or doubles a loss."""
    merged = dict(stored or {})
    for reason, count in reported.items():
        merged[reason] = max(count, merged.get(reason, 0))
    return merged


# Statements built once and run with parameters: building and hashing them per call cost
# SQLAlchemy more than SQLite spends running them (a new session took ~2 ms of CPU).
_LOCKED_ROW = (
    select(sessions).where(sessions.c.id == bindparam("session_id")).with_for_update(key_share=True)
)
_NEW_STATS = insert(session_stats)


@functools.cache
def _insert_new(dialect: str) -> Any:
    """INSERT a session unless its id is stored, answering its id if it was inserted."""
    return (
        insert_ignore(dialect, sessions)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(sessions.c.id)
    )


def _locked_row(conn: Connection, session_id: str) -> RowMapping | None:
    return conn.execute(_LOCKED_ROW, {"session_id": session_id}).mappings().first()


def _add_tag_rows(
    conn: Connection, session_id: str, project_id: str, init: datetime, tags: list[str]
) -> None:
    if tags:
        conn.execute(
            insert(session_tags),
            [
                {
                    "session_id": session_id,
                    "tag": t,
                    "project_id": project_id,
                    "init_timestamp": init,
                }
                for t in tags
            ],
        )


def _end_fields(write: SessionWrite, row: RowMapping | None, now: datetime) -> dict[str, Any]:
    """The end columns a write sets. An explicit end (time or final state) clears auto_ended."""
    values: dict[str, Any] = {}
    if write.end_state is not None:
        values["end_state"] = write.end_state
    if write.end_state_reason is not None:
        values["end_state_reason"] = write.end_state_reason
    if write.end_timestamp is not None:
        values["end_timestamp"] = write.end_timestamp
    elif write.end_state not in (None, INDETERMINATE):
        already = row is not None and row["end_timestamp"] is not None and not row["auto_ended"]
        if not already:
            values["end_timestamp"] = now
    if "end_timestamp" in values:
        values["auto_ended"] = False
    return values


def _index_words(conn: Connection, write: SessionWrite) -> None:
    """A session's name and end reason find it in a text search."""
    text = "\n".join(t for t in (write.name, write.end_state_reason) if t)
    if text:
        search_index.add_documents(conn, conn.dialect.name, {write.id: text})


def create_session(conn: Connection, dialect: str, write: SessionWrite, now: datetime) -> None:
    """Insert the session, or re-attach to it: never wipes what is stored."""
    init = write.init_timestamp or now
    tags = unique_tags(write.tags or [])
    ends = _end_fields(write, None, now)
    inserted = conn.execute(
        _insert_new(dialect),
        {
            "id": write.id,
            "project_id": write.project_id,
            "parent_project_id": write.parent_project_id,
            "init_timestamp": init,
            "end_timestamp": ends.get("end_timestamp"),
            "end_state": write.end_state or INDETERMINATE,
            "end_state_reason": write.end_state_reason,
            "tags": tags,
            "host_env": write.host_env,
            "video": write.video,
            "name": write.name,
            "metadata": write.metadata,
            "root_span_id": write.root_span_id,
            "dropped_events": write.dropped_events,
            "created_at": now,
            "last_activity_at": now,
            "auto_ended": False,
        },
    ).first()
    if inserted is not None:
        conn.execute(_NEW_STATS, {"session_id": write.id})
        _add_tag_rows(conn, write.id, write.project_id, init, tags)
        _index_words(conn, write)
        return
    row = _locked_row(conn, write.id)
    if row is None:  # pragma: no cover - rows are never deleted
        raise NotFound(f"session {write.id} vanished during re-attach")
    if row["project_id"] != write.project_id:
        raise Conflict(f"session {write.id} belongs to another project")
    values: dict[str, Any] = {"last_activity_at": now}
    stored_init: datetime = row["init_timestamp"]
    if write.init_timestamp is not None and write.init_timestamp < stored_init:
        values["init_timestamp"] = write.init_timestamp
    merged = unique_tags([*row["tags"], *tags])
    if merged != list(row["tags"]):
        values["tags"] = merged
    for name in ("host_env", "video", "parent_project_id", "name", "root_span_id"):
        if getattr(write, name) is not None:
            values[name] = getattr(write, name)
    if write.metadata:
        values["metadata"] = {**(row["metadata"] or {}), **write.metadata}
    if write.dropped_events:
        values["dropped_events"] = merged_losses(row["dropped_events"], write.dropped_events)
    values.update(_end_fields(write, row, now))
    if row["auto_ended"] and "end_timestamp" not in values:
        # someone re-attached: the session is alive after all
        values.update(end_timestamp=None, end_state_reason=None, auto_ended=False)
    conn.execute(update(sessions).where(sessions.c.id == write.id).values(values))
    _index_words(conn, write)
    new_init = values.get("init_timestamp", stored_init)
    if "init_timestamp" in values:
        conn.execute(
            update(session_tags)
            .where(session_tags.c.session_id == write.id)
            .values(init_timestamp=new_init)
        )
    stored_tags = set(row["tags"])
    added = [t for t in merged if t not in stored_tags]
    _add_tag_rows(conn, write.id, write.project_id, new_init, added)


def update_session(conn: Connection, write: SessionWrite, now: datetime) -> None:
    """Update the fields that were sent; tags replace; raise NotFound if absent or foreign."""
    row = _locked_row(conn, write.id)
    if row is None or row["project_id"] != write.project_id:
        raise NotFound(f"session {write.id} not found")
    values: dict[str, Any] = {"last_activity_at": now}
    for name in (
        "init_timestamp",
        "host_env",
        "video",
        "parent_project_id",
        "name",
        "root_span_id",
    ):
        if getattr(write, name) is not None:
            values[name] = getattr(write, name)
    if write.metadata:
        values["metadata"] = {**(row["metadata"] or {}), **write.metadata}
    if write.dropped_events:
        values["dropped_events"] = merged_losses(row["dropped_events"], write.dropped_events)
    values.update(_end_fields(write, row, now))
    if row["auto_ended"] and "end_timestamp" not in values:
        values.update(end_timestamp=None, end_state_reason=None, auto_ended=False)
    init = values.get("init_timestamp", row["init_timestamp"])
    if write.tags is not None:
        values["tags"] = unique_tags(write.tags)
    conn.execute(update(sessions).where(sessions.c.id == write.id).values(values))
    _index_words(conn, write)
    if write.tags is not None:
        conn.execute(delete(session_tags).where(session_tags.c.session_id == write.id))
        _add_tag_rows(conn, write.id, row["project_id"], init, values["tags"])
    elif "init_timestamp" in values:
        conn.execute(
            update(session_tags)
            .where(session_tags.c.session_id == write.id)
            .values(init_timestamp=init)
        )
