"""Creating, re-attaching and updating sessions, in the caller's write transaction."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, insert, select, update

from agentops_server.storage import session_words
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
_LOCKED_ROWS = (
    select(sessions)
    .where(sessions.c.id.in_(bindparam("session_ids", expanding=True)))
    .order_by(sessions.c.id)
    .with_for_update(key_share=True)
)
_NEW_STATS = insert(session_stats)
_RETIME_TAGS = (
    update(session_tags)
    .where(session_tags.c.session_id == bindparam("b_id"))
    .values(init_timestamp=bindparam("init_timestamp", type_=session_tags.c.init_timestamp.type))
)
IDS_PER_SELECT = 500


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


def _end_fields(
    write: SessionWrite, row: Mapping[Any, Any] | None, now: datetime
) -> dict[str, Any]:
    """The end columns a write sets. An explicit end (time or final state) clears auto_ended,
    and with it the reason the sweeper gave."""
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
        if row is not None and row["auto_ended"] and write.end_state_reason is None:
            # the sweeper's "no end received" is wrong now: the end came, with no reason
            values["end_state_reason"] = None
    return values


def _words_changed(row: Mapping[Any, Any], values: Mapping[str, Any]) -> bool:
    """Whether `values` change the session's name or end reason, which a search finds."""
    return any(
        name in values and values[name] != row[name] for name in ("name", "end_state_reason")
    )


@dataclass(slots=True)
class Written:
    """What create_sessions did: the rows it inserted (their column values), and the ids of
    the stored sessions it re-attached to (another project's are in neither)."""

    inserted: list[dict[str, Any]]
    reattached: list[str]
    starts: dict[str, datetime] = field(default_factory=dict)
    """The re-attached sessions' starts as they were stored, read under their row lock."""


def create_session(conn: Connection, dialect: str, write: SessionWrite, now: datetime) -> bool:
    """Insert the session, or re-attach to it: never wipes what is stored. True when another
    process started it (stored already, with another start): the writer re-attached, as an
    inherited session does. The owner's own retry (same start) is the owner again."""
    written = create_sessions(conn, dialect, [write], now)
    if not written.inserted and not written.reattached:
        raise Conflict(f"session id {write.id} is already used by another project")
    if written.inserted:
        return False
    return write.init_timestamp is None or written.starts[write.id] != write.init_timestamp


def create_sessions(
    conn: Connection, dialect: str, writes: Sequence[SessionWrite], now: datetime
) -> Written:
    """Insert or re-attach each session, as create_session does one (another project's are
    left untouched).

    A few statements for all of them, not a few per session: the sessions that are new in one
    multi-row INSERT, the stored ones read in one SELECT (locked in id order on PostgreSQL) and
    updated by one executemany per set of changed columns."""
    firsts: dict[str, SessionWrite] = {}
    repeats: list[SessionWrite] = []  # a second write of one id re-attaches to the first
    for write in sorted(writes, key=lambda w: w.id):  # one lock order for all
        if write.id in firsts:
            repeats.append(write)
        else:
            firsts[write.id] = write
    rows = [_new_row(write, now) for write in firsts.values()]
    inserted = {row[0] for row in conn.execute(_insert_new(dialect), rows)} if rows else set()
    new = [write for write in firsts.values() if write.id in inserted]
    if new:
        conn.execute(_NEW_STATS, [{"session_id": write.id} for write in new])
        _add_tags(conn, [(write, write.init_timestamp or now, _tags(write)) for write in new])
        session_words.add_new(conn, dialect, new)
    stored = [write for write in firsts.values() if write.id not in inserted] + repeats
    starts: dict[str, datetime] = {}
    kept = _reattach(conn, dialect, stored, now, starts)
    return Written([row for row in rows if row["id"] in inserted], kept, starts)


def _tags(write: SessionWrite) -> list[str]:
    return unique_tags(write.tags or [])


def _new_row(write: SessionWrite, now: datetime) -> dict[str, Any]:
    ends = _end_fields(write, None, now)
    return {
        "id": write.id,
        "project_id": write.project_id,
        "parent_project_id": write.parent_project_id,
        "init_timestamp": write.init_timestamp or now,
        "end_timestamp": ends.get("end_timestamp"),
        "end_state": write.end_state or INDETERMINATE,
        "end_state_reason": write.end_state_reason,
        "tags": _tags(write),
        "host_env": write.host_env,
        "video": write.video,
        "name": write.name,
        "metadata": write.metadata,
        "root_span_id": write.root_span_id,
        "dropped_events": write.dropped_events,
        "created_at": now,
        "last_activity_at": now,
        "auto_ended": False,
    }


def _reattach(
    conn: Connection,
    dialect: str,
    writes: list[SessionWrite],
    now: datetime,
    starts: dict[str, datetime],
) -> list[str]:
    """Merge each write into its stored session; the ids of those of the writer's project.
    `starts` receives their starts as stored before (read under the row locks)."""
    if not writes:
        return []
    stored = _locked_rows(conn, [write.id for write in writes])
    as_stored = dict(stored)  # the rows before this write, for the words that change
    kept: list[str] = []
    changes: dict[str, dict[str, Any]] = {}  # per session (a repeated id merges into one)
    added: list[tuple[SessionWrite, list[str]]] = []  # (write, the tags it adds)
    for write in writes:
        row = stored.get(write.id)
        if row is None:  # pragma: no cover - rows are never deleted
            raise NotFound(f"session {write.id} vanished during re-attach")
        if row["project_id"] != write.project_id:
            continue
        starts.setdefault(write.id, row["init_timestamp"])
        values = _merged(write, row, now)
        changes.setdefault(write.id, {}).update(values)
        before = set(row["tags"])
        new_tags = [t for t in values.get("tags", ()) if t not in before]
        stored[write.id] = row = {**row, **values}
        added.append((write, new_tags))
        kept.append(write.id)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for session_id, values in changes.items():
        columns = tuple(sorted(values))
        by_columns.setdefault(columns, []).append({"b_id": session_id, **values})
    for columns, params in by_columns.items():
        conn.execute(_update_columns(columns), params)
    retimed = [
        {"b_id": session_id, "init_timestamp": values["init_timestamp"]}
        for session_id, values in changes.items()
        if "init_timestamp" in values
    ]
    if retimed:
        conn.execute(_RETIME_TAGS, retimed)
    # a tag added by an earlier write of a repeated id starts when the session finally does
    # (a later write of the id may have moved the start earlier, after that write was merged)
    _add_tags(conn, [(w, stored[w.id]["init_timestamp"], tags) for w, tags in added])
    # the words of the sessions whose name or end reason changed
    reworded = [sid for sid, values in changes.items() if _words_changed(as_stored[sid], values)]
    session_words.refresh(conn, dialect, reworded)
    return kept


def _merged(write: SessionWrite, row: Mapping[Any, Any], now: datetime) -> dict[str, Any]:
    """The columns a re-attach changes: never wipes what is stored."""
    values: dict[str, Any] = {"last_activity_at": now}
    stored_init: datetime = row["init_timestamp"]
    if write.init_timestamp is None:
        pass
    elif write.root_span_id is not None:  # an OTLP trace's root: its start is the session's
        if write.init_timestamp != stored_init:
            values["init_timestamp"] = write.init_timestamp
    elif row["root_span_id"] is None and write.init_timestamp < stored_init:
        values["init_timestamp"] = write.init_timestamp  # the earliest start seen, until then
    merged = unique_tags([*row["tags"], *_tags(write)])
    if merged != list(row["tags"]):
        values["tags"] = merged
        values["attached_tags"] = _attached(row, merged[len(row["tags"]) :])
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
    return values


def _locked_rows(conn: Connection, ids: list[str]) -> dict[str, Mapping[Any, Any]]:
    """The stored rows of these sessions by id, locked (key share) in id order on PostgreSQL."""
    found: dict[str, Mapping[Any, Any]] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), IDS_PER_SELECT):
        chunk = wanted[start : start + IDS_PER_SELECT]
        for row in conn.execute(_LOCKED_ROWS, {"session_ids": chunk}).mappings():
            found[row["id"]] = row
    return found


def _attached(row: Mapping[Any, Any], added: list[str]) -> list[str]:
    """The session's tags added by processes that re-attached, with `added`."""
    return unique_tags([*(row["attached_tags"] or []), *added])


def _updated_tags(write: SessionWrite, row: Mapping[Any, Any], values: dict[str, Any]) -> list[str]:
    """The tags after an update that sends them (the whole list, as 0.3 sends it with every
    add_tags, set_tags and end): a process that re-attached adds its own to the stored ones;
    the owner's replace its own, and what re-attached processes added stays."""
    sent = unique_tags(write.tags or [])
    if not write.attached:
        return unique_tags([*sent, *(row["attached_tags"] or [])])
    stored = row["tags"]
    merged = unique_tags([*stored, *sent])
    if len(merged) > len(stored):
        values["attached_tags"] = _attached(row, merged[len(stored) :])
    return merged


def _add_tags(conn: Connection, of: list[tuple[SessionWrite, datetime, list[str]]]) -> None:
    """Tag rows for (session, its start, its new tags), all in one executemany."""
    rows = [
        {"session_id": w.id, "tag": t, "project_id": w.project_id, "init_timestamp": init}
        for w, init, tags in of
        for t in tags
    ]
    if rows:
        conn.execute(insert(session_tags), rows)


@functools.cache
def _update_columns(columns: tuple[str, ...]) -> Any:
    """UPDATE sessions SET <columns> WHERE id = :b_id, built once per set of columns."""
    return (
        update(sessions)
        .where(sessions.c.id == bindparam("b_id"))
        .values({name: bindparam(name, type_=sessions.c[name].type) for name in columns})
    )


def update_session(conn: Connection, write: SessionWrite, now: datetime) -> None:
    """Update the fields that were sent (tags: see _updated_tags), under the session's row
    lock; raise NotFound if absent or foreign."""
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
        values["tags"] = _updated_tags(write, row, values)
    conn.execute(update(sessions).where(sessions.c.id == write.id).values(values))
    if _words_changed(row, values):
        session_words.refresh(conn, conn.dialect.name, [write.id])
    if write.tags is not None:
        conn.execute(delete(session_tags).where(session_tags.c.session_id == write.id))
        _add_tags(conn, [(write, init, values["tags"])])
    elif "init_timestamp" in values:
        conn.execute(
            update(session_tags)
            .where(session_tags.c.session_id == write.id)
            .values(init_timestamp=init)
        )
