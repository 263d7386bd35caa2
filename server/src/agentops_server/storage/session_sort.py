"""The dashboard's session pages in any order, and bounded searches over them.

Each order walks one index: (project, init_timestamp, id) for time, the trigger-kept
(project, duration_ms, id) and (project, cost_nanos, session_id) of migration 0002 for
duration and cost. "Longest first" has two phases: ended sessions, then running ones.

A filter the walked index cannot answer (text, or a tag or end state under a cost or duration
order) could make a page read the whole project. Such pages read at most SCAN_LIMIT sessions
of the walk; when that budget runs out first, the page holds the matches found so far and a
cursor that continues the walk where it stopped, so every request stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, select, tuple_

from agentops_server.storage import cursor_values, session_filters, session_query
from agentops_server.storage.dashboard_records import SessionSort
from agentops_server.storage.records import SessionFilter, SessionPage
from agentops_server.storage.rows import session_select, to_session
from agentops_server.storage.schema import session_stats, sessions
from agentops_server.storage.store import InvalidCursor
from agentops_server.storage.types import UTCDateTime

SCAN_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Phase:
    """One index walk: the rows in `scope`, ordered by (value, ident)."""

    name: str
    scope: list[ColumnElement[bool]]
    value: Any  # a column, or None when the walk is by ident alone
    ident: Any
    descending: bool
    timestamp: bool = False

    def order(self) -> list[Any]:
        cols = [c for c in (self.value, self.ident) if c is not None]
        return [c.desc() for c in cols] if self.descending else cols

    def reverse_order(self) -> list[Any]:
        cols = [c for c in (self.value, self.ident) if c is not None]
        return cols if self.descending else [c.desc() for c in cols]

    def after(self, value: Any, ident: str) -> list[ColumnElement[bool]]:
        """Rows strictly after (value, ident) in this walk's order."""
        if self.value is None:
            return [self.ident < ident] if self.descending else [self.ident > ident]
        bound = bindparam(None, value, type_=UTCDateTime) if self.timestamp else value
        position = tuple_(bound, ident)
        if self.descending:  # the plain bound lets every planner cut the index range
            return [self.value <= value, tuple_(self.value, self.ident) < position]
        return [self.value >= value, tuple_(self.value, self.ident) > position]

    def key(self, row: Any) -> list[Any]:
        if self.value is None:
            return [None, row[1]]
        value = row[0]
        return [value.isoformat() if self.timestamp else value, row[1]]


def list_page(
    conn: Connection,
    project_id: str,
    filters: SessionFilter,
    sort: SessionSort,
    cursor: str | None,
    limit: int,
    scan_limit: int = SCAN_LIMIT,
) -> SessionPage:
    if sort is SessionSort.NEWEST:
        return session_query.list_sessions(conn, project_id, filters, cursor, limit, scan_limit)
    plan = _plan(sort, project_id, filters)
    dialect = conn.dialect.name
    extra = [
        *session_filters.candidate_clauses(filters, project_id, dialect),
        *session_filters.row_clauses(filters, dialect, tags_from=0),
    ]
    first, after = _decode(cursor, plan) if cursor else (0, None)
    bounded = _needs_bound(sort, filters)
    found: list[tuple[Phase, Any]] = []
    budget = scan_limit
    for index in range(first, len(plan)):
        phase = plan[index]
        position = after if index == first else None
        if not bounded:
            scope = [*phase.scope, *(phase.after(*position) if position else [])]
            query = _filtered(session_select(), filters, phase, extra).where(*scope)
            query = query.order_by(*phase.order()).limit(limit + 1 - len(found))
            found += [(phase, r) for r in conn.execute(query).mappings().all()]
            if len(found) > limit:
                break
            continue
        # bounded: walk the index in growing chunks, so a common match stops early
        chunk = min(budget, max(4 * limit, 200))
        while True:
            scope = [*phase.scope, *(phase.after(*position) if position else [])]
            walk = (
                select(phase.value if phase.value is not None else phase.ident, phase.ident)
                .where(*scope)
                .order_by(*phase.order())
                .limit(chunk)
                .subquery()
            )
            query = _filtered(session_select(), filters, phase, extra)
            query = query.where(sessions.c.id.in_(select(walk.c[1])))
            query = query.order_by(*phase.order()).limit(limit + 1 - len(found))
            found += [(phase, r) for r in conn.execute(query).mappings().all()]
            if len(found) > limit:
                return _page(found, limit, _cursor_at(found[limit - 1]))
            read = conn.execute(select(func.count()).select_from(walk)).scalar_one()
            budget -= read
            if read < chunk:
                break  # this walk is done: on to the next phase
            last = conn.execute(
                select(walk.c[0], walk.c[1]).order_by(*_reverse(walk, phase)).limit(1)
            ).one()
            position = (last[0], last[1])
            if budget <= 0:  # budget spent: the cursor continues after the last one read
                return _page(found, limit, _encode(phase, phase.key(last)))
            chunk = min(budget, chunk * 4)
    next_cursor = _cursor_at(found[limit - 1]) if len(found) > limit else None
    return _page(found, limit, next_cursor)


def _cursor_at(item: tuple[Phase, Any]) -> str:
    phase, row = item
    value = row[phase.value.name] if phase.value is not None else None
    return _encode(phase, phase.key((value, row["id"])))


def _plan(sort: SessionSort, project_id: str, filters: SessionFilter) -> list[Phase]:
    mine = sessions.c.project_id == project_id
    if sort in (SessionSort.NEWEST, SessionSort.OLDEST):
        scope = [mine]  # a time range is a range of this very index
        if filters.started_after is not None:
            scope.append(sessions.c.init_timestamp >= filters.started_after)
        if filters.started_before is not None:
            scope.append(sessions.c.init_timestamp < filters.started_before)
        return [
            Phase(
                sort.value,
                scope,
                sessions.c.init_timestamp,
                sessions.c.id,
                descending=sort is SessionSort.NEWEST,
                timestamp=True,
            )
        ]
    if sort is SessionSort.COST:
        cost = session_stats.c.cost_nanos
        scope = [session_stats.c.project_id == project_id]
        return [Phase("cost", scope, cost, session_stats.c.session_id, descending=True)]
    duration = sessions.c.duration_ms
    return [
        Phase("duration", [mine, duration.is_not(None)], duration, sessions.c.id, True),
        Phase("running", [mine, duration.is_(None)], None, sessions.c.id, True),
    ]


def _needs_bound(sort: SessionSort, filters: SessionFilter) -> bool:
    """Whether a page may have to read more sessions than it shows: not when candidate
    filters name the sessions (storage/session_filters.py)."""
    if session_filters.has_candidates(filters):
        return False
    if session_filters.has_row_filters(filters):
        return True
    if sort is SessionSort.OLDEST:
        return bool(filters.tags) or filters.end_state is not None
    ranged = filters.started_after is not None or filters.started_before is not None
    return bool(filters.tags) or filters.end_state is not None or ranged


def _filtered(query: Any, filters: SessionFilter, phase: Phase, extra: list[Any]) -> Any:
    """The filters the walked index does not answer itself (`extra`: tags, candidate and row
    filters, storage/session_filters.py)."""
    if filters.end_state is not None:
        query = query.where(sessions.c.end_state == filters.end_state)
    if not phase.timestamp:
        if filters.started_after is not None:
            query = query.where(sessions.c.init_timestamp >= filters.started_after)
        if filters.started_before is not None:
            query = query.where(sessions.c.init_timestamp < filters.started_before)
    return query.where(*extra)


def _reverse(walk: Any, phase: Phase) -> list[Any]:
    cols = [walk.c[0], walk.c[1]] if phase.value is not None else [walk.c[1]]
    return cols if phase.descending else [c.desc() for c in cols]


def _page(found: list[tuple[Phase, Any]], limit: int, cursor: str | None) -> SessionPage:
    return SessionPage(sessions=[to_session(r) for _, r in found[:limit]], next_cursor=cursor)


def _encode(phase: Phase, key: list[Any]) -> str:
    return cursor_values.pack([phase.name, *key])


def _decode(cursor: str, plan: list[Phase]) -> tuple[int, tuple[Any, str]]:
    invalid = InvalidCursor(f"invalid cursor {cursor[:40]!r} for this order")
    parts = cursor_values.unpack(cursor, invalid)
    names = [p.name for p in plan]
    if len(parts) != 3 or parts[0] not in names:
        raise invalid
    index = names.index(parts[0])
    phase, value = plan[index], parts[1]
    if phase.value is None:
        value = None
    elif phase.timestamp:
        value = cursor_values.time_of(value, invalid)
    else:
        value = cursor_values.int_of(value, invalid)
    return index, (value, cursor_values.text_of(parts[2], invalid))
