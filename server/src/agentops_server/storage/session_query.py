"""Listing sessions: newest first, filtered, keyset-paginated with an opaque cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    select,
    tuple_,
)

from agentops_server.storage import cursor_values, session_filters
from agentops_server.storage.records import SessionFilter, SessionPage
from agentops_server.storage.rows import session_select, to_session
from agentops_server.storage.schema import session_tags, sessions
from agentops_server.storage.store import InvalidCursor
from agentops_server.storage.types import UTCDateTime

MAX_LIMIT = 1000
TEXT_SCAN_LIMIT = 20_000  # sessions one call looks at, at most, for filters without an index


def encode_cursor(init_timestamp: datetime, session_id: str) -> str:
    return cursor_values.pack([init_timestamp.isoformat(), session_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    invalid = InvalidCursor(f"invalid cursor {cursor[:40]!r}")
    parts = cursor_values.unpack(cursor, invalid)
    if len(parts) != 2:
        raise invalid
    return cursor_values.time_of(parts[0], invalid), cursor_values.text_of(parts[1], invalid)


def _filtered(
    query: Select[Any], project_id: str, filters: SessionFilter, cursor: str | None
) -> tuple[Select[Any], Any, Any]:
    """Apply the filters the walked index answers, and the cursor; returns (query, order_ts,
    order_id). The first tag is walked by its index; the other filters are in `_rest`."""
    if filters.tags:
        # walk the tag index, which holds the project and start time, in list order
        query = query.join(
            session_tags,
            and_(session_tags.c.session_id == sessions.c.id, session_tags.c.tag == filters.tags[0]),
        ).where(session_tags.c.project_id == project_id)
        order_ts: Any = session_tags.c.init_timestamp
        order_id: Any = session_tags.c.session_id
    else:
        query = query.where(sessions.c.project_id == project_id)
        order_ts, order_id = sessions.c.init_timestamp, sessions.c.id
    if filters.end_state is not None:
        query = query.where(sessions.c.end_state == filters.end_state)
    if filters.started_after is not None:
        query = query.where(order_ts >= filters.started_after)
    if filters.started_before is not None:
        query = query.where(order_ts < filters.started_before)
    if cursor:
        after_ts, after_id = decode_cursor(cursor)
        # the plain `<=` lets every planner bound the index range; the row value is exact
        after = tuple_(
            bindparam("cursor_ts", after_ts, type_=UTCDateTime), bindparam("cursor_id", after_id)
        )
        query = query.where(order_ts <= after_ts, tuple_(order_ts, order_id) < after)
    return query, order_ts, order_id


def _rest(conn: Connection, project_id: str, filters: SessionFilter) -> list[Any]:
    dialect = conn.dialect.name
    return [
        *session_filters.candidate_clauses(filters, project_id, dialect),
        *session_filters.row_clauses(filters, dialect),
    ]


def list_sessions(
    conn: Connection,
    project_id: str,
    filters: SessionFilter,
    cursor: str | None,
    limit: int,
    text_scan_limit: int = TEXT_SCAN_LIMIT,
) -> SessionPage:
    limit = max(1, min(limit, MAX_LIMIT))
    if session_filters.has_row_filters(filters) and not session_filters.has_candidates(filters):
        return _search(conn, project_id, filters, cursor, limit, text_scan_limit)
    query, order_ts, order_id = _filtered(session_select(), project_id, filters, cursor)
    query = query.where(*_rest(conn, project_id, filters))
    query = query.order_by(order_ts.desc(), order_id.desc()).limit(limit + 1)
    rows = conn.execute(query).mappings().all()
    page = [to_session(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = encode_cursor(page[-1].init_timestamp, page[-1].id)
    return SessionPage(sessions=page, next_cursor=next_cursor)


def _search(
    conn: Connection,
    project_id: str,
    filters: SessionFilter,
    cursor: str | None,
    limit: int,
    scan_limit: int,
) -> SessionPage:
    """Filters that no index answers (cost and duration ranges, metadata, a second tag) look
    at most `scan_limit` sessions (newest first) per call, so a rare match never scans a
    million rows at once. A page may then hold fewer than `limit` sessions (even none) and
    still have a next_cursor: the position where the scan stopped."""
    keys, order_ts, order_id = _filtered(
        select(sessions.c.id.label("wid"), sessions.c.init_timestamp.label("wts")),
        project_id,
        filters,
        cursor,
    )
    keys = keys.order_by(order_ts.desc(), order_id.desc())
    window = keys.limit(scan_limit).subquery()
    query = (
        session_select()
        .join(window, window.c.wid == sessions.c.id)
        .where(*_rest(conn, project_id, filters))
        # ordered by the window's columns: the planner must build the (bounded) window first
        # rather than walk the sessions index testing each row against it
        .order_by(window.c.wts.desc(), window.c.wid.desc())
        .limit(limit + 1)
    )
    rows = conn.execute(query).mappings().all()
    page = [to_session(row) for row in rows[:limit]]
    if len(rows) > limit:
        return SessionPage(page, encode_cursor(page[-1].init_timestamp, page[-1].id))
    # the window's last session, if the window was full: the scan goes on from there
    last = conn.execute(keys.offset(scan_limit - 1).limit(1)).first()
    return SessionPage(page, None if last is None else encode_cursor(last.wts, last.wid))
