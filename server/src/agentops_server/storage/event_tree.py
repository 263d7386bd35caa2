"""One level of a session's event tree at a time: what the dashboard's waterfall loads on
expand, so a session of 100,000 events is never read whole.

A level is the children of one event, or the top level: events without a parent plus orphans,
whose parent id names no stored event (an OpenTelemetry span whose parent never arrived).
Every read walks ix_events_session_parent (session, parent, time, seq) in order:

- children of P: one index range, keyset-paginated on (init_timestamp, seq);
- orphans: the parent ids that are missing, found by a loose index scan that visits each
  distinct parent id once (a handful of index seeks per parent, not one per event), then
  each missing parent's children like any other level (or, past 20 missing parents, all
  their children at once, sorted), merged in time order;
- child counts: for each id of the page, one range of the same index, counted up to 1,000.

Each statement asks for its index's own order (parent, then time), and on PostgreSQL runs
with sorting disabled, so that index is the planner's one choice. Otherwise statistics taken
while the table held few sessions (they rate a new session at one row) let it take any index
of the session and filter, reading the whole session once per probe: for the per-parent
probes, 100,000 events times 1,000 parents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, literal, select, text, tuple_
from sqlalchemy.exc import DBAPIError

from agentops_server.storage import event_cursor
from agentops_server.storage.dashboard_records import EventBrief, TreeLevel, TreeNode
from agentops_server.storage.schema import events
from agentops_server.storage.types import UTCDateTime

LOOKBACK = 2000  # events started before `since` that are checked for still running then
IDS_PER_QUERY = 500
MISSING_ONE_BY_ONE = 20  # up to this many lost parents, each one's children are one range
CHILD_COUNT_LIMIT = 1000  # children are counted up to this many ("1,000+") by default
BRIEF_COLUMNS = [c for c in events.c if c.name != "payload"]

_MISSING_PARENTS = text(
    """
    WITH RECURSIVE parents(pid) AS (
        SELECT (SELECT parent_id FROM events
                WHERE session_id = :session_id AND parent_id IS NOT NULL
                ORDER BY parent_id LIMIT 1)
        UNION ALL
        SELECT (SELECT e.parent_id FROM events e
                WHERE e.session_id = :session_id AND e.parent_id > parents.pid
                ORDER BY e.parent_id LIMIT 1)
        FROM parents WHERE parents.pid IS NOT NULL
    )
    SELECT pid FROM parents
    WHERE pid IS NOT NULL AND COALESCE((
        SELECT p.id FROM events p WHERE p.session_id = :session_id AND p.id >= parents.pid
        ORDER BY p.id LIMIT 1
    ), '') <> parents.pid
    """
)
"""Parent ids of the session that name no stored event. Each step seeks the next distinct
parent id in the index (the loose index scan of the PostgreSQL wiki; SQLite plans it the same
way), so the cost grows with the number of distinct parents, not of events; whether the
parent exists is one seek in the (session, id) key, written as "the first id from there"."""

_CHILD_COUNTS = """
    WITH page(id) AS (VALUES {rows})
    SELECT page.id, (
        SELECT count(*) FROM (
            SELECT 1 FROM events c
            WHERE c.session_id = :session_id
              AND c.parent_id >= page.id AND c.parent_id <= page.id
            ORDER BY c.parent_id LIMIT {limit}
        ) AS counted
    ) FROM page
"""
"""How many children each id has, up to `limit`. `parent_id >= x AND parent_id <= x` is
`parent_id = x` in a form that keeps the parent order asked for (see the module's note)."""


def missing_parents(conn: Connection, session_id: str) -> list[str]:
    found = conn.execute(_MISSING_PARENTS, {"session_id": session_id}).scalars()
    return [str(pid) for pid in found]


@contextmanager
def _sorts_disabled(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, plan the statements inside without sorts (see the module's note). Read
    connections are in autocommit, so the setting is set and reset around the work."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql("SET enable_sort = off")
    try:
        yield
    finally:
        try:
            conn.exec_driver_sql("RESET enable_sort")
        except DBAPIError:  # never hand a connection with the setting back to the pool
            conn.invalidate()
            raise


def _under(
    parent: str | None,
    after: tuple[datetime, int] | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> ColumnElement[bool]:
    """The events under one parent (None: under the session) after a keyset position, from
    `since`, or before `before`: one range of ix_events_session_parent. Under a parent id it
    is a range over (parent_id, init_timestamp, seq) rather than an equality, which would
    make parent_id a constant to the planner and let the time index serve the same order
    (see the module's note); the range still seeks straight to its start."""
    ts, seq = events.c.init_timestamp, events.c.seq
    if parent is None:
        found: list[ColumnElement[bool]] = [events.c.parent_id.is_(None)]
        if after is not None:
            found.append(event_cursor.after(*after))
        elif since is not None:
            found.append(ts >= since)
        if before is not None:
            found.append(ts < before)
        return and_(*found)
    pid = literal(parent)
    if before is not None:
        return and_(
            events.c.parent_id >= pid, tuple_(events.c.parent_id, ts) < tuple_(pid, _at(before))
        )
    if after is not None:
        start = tuple_(events.c.parent_id, ts, seq) > tuple_(pid, _at(after[0]), literal(after[1]))
    elif since is not None:
        start = tuple_(events.c.parent_id, ts) >= tuple_(pid, _at(since))
    else:
        start = events.c.parent_id >= pid
    return and_(start, events.c.parent_id <= pid)


def _at(value: datetime) -> ColumnElement[datetime]:
    return literal(value, type_=UTCDateTime)


def list_level(
    conn: Connection,
    session_id: str,
    parent_id: str | None,
    cursor: str | None,
    limit: int,
    since: datetime | None,
    count_limit: int = CHILD_COUNT_LIMIT,
) -> TreeLevel:
    """A page of one level in time order; see Store.list_tree_level."""
    with _sorts_disabled(conn):
        return _list_level(conn, session_id, parent_id, cursor, limit, since, count_limit)


def _list_level(
    conn: Connection,
    session_id: str,
    parent_id: str | None,
    cursor: str | None,
    limit: int,
    since: datetime | None,
    count_limit: int,
) -> TreeLevel:
    position = None if cursor is None else event_cursor.decode(cursor, "t", parent_id)
    if position is not None:
        since = None  # the cursor is past it
    parents: list[str | None] = [parent_id]
    lost: list[list[str]] = []
    if parent_id is None:
        missing = missing_parents(conn, session_id)
        if len(missing) <= MISSING_ONE_BY_ONE:
            parents += missing
        else:  # many lost parents: their children are read together, and sorted
            lost = _chunks(missing)

    def level(
        parent: str | None, after: tuple[datetime, int] | None, from_: datetime | None
    ) -> Any:
        return select(*BRIEF_COLUMNS).where(
            events.c.session_id == session_id, _under(parent, after, from_)
        )

    rows: list[Any] = []
    running: list[Any] = []
    for parent in parents:
        query = level(parent, position, since).order_by(*_index_order(True))
        rows += conn.execute(query.limit(limit + 1)).mappings().all()
        if since is not None:
            recent = select(events.c.seq).where(
                events.c.session_id == session_id, _under(parent, before=since)
            )
            running += _still_running(conn, recent.order_by(*_index_order(True, True)), since)
    for chunk in lost:
        orphans = select(*BRIEF_COLUMNS).where(
            events.c.session_id == session_id, events.c.parent_id.in_(chunk)
        )
        if position is not None:
            orphans = orphans.where(event_cursor.after(*position))
        elif since is not None:
            orphans = orphans.where(events.c.init_timestamp >= since)
        query = orphans.order_by(*_index_order(False)).limit(limit + 1)
        rows += conn.execute(query).mappings().all()
        if since is not None:
            recent = select(events.c.seq).where(
                events.c.session_id == session_id,
                events.c.parent_id.in_(chunk),
                events.c.init_timestamp < since,
            )
            running += _still_running(conn, recent.order_by(*_index_order(False, True)), since)

    rows.sort(key=_order)
    running.sort(key=_order)
    page = [to_brief(r) for r in running + rows[:limit]]
    counts = _child_counts(conn, session_id, [b.id for b in page], count_limit)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = event_cursor.encode("t", last["init_timestamp"], last["seq"], parent_id)
    nodes = [TreeNode(b, *counts.get(b.id, (0, True))) for b in page]
    return TreeLevel(nodes=nodes, next_cursor=next_cursor, running=len(running))


def _index_order(one_parent: bool, descending: bool = False) -> list[Any]:
    """Time order; for one parent, spelled as ix_events_session_parent's own order (the same
    rows in the same order, but only that index yields it without a sort)."""
    keys = [events.c.init_timestamp, events.c.seq]
    if one_parent:
        keys.insert(0, events.c.parent_id)
    return [key.desc() for key in keys] if descending else keys


def _still_running(conn: Connection, recent: Any, since: datetime) -> list[Any]:
    """Of the events `recent` selects (seqs, latest first), the LOOKBACK latest that end
    after `since`: a zoomed-in waterfall must still show the span that encloses the view."""
    latest = recent.limit(LOOKBACK).subquery()
    query = select(*BRIEF_COLUMNS).where(
        events.c.seq.in_(select(latest.c.seq)), events.c.end_timestamp > since
    )
    return list(conn.execute(query).mappings().all())


def _child_counts(
    conn: Connection, session_id: str, ids: Sequence[str], limit: int
) -> dict[str, tuple[int, bool]]:
    """(children counted up to `limit`, whether that is all of them) for each of `ids` that
    has children. Each id's count is one index range that stops past the limit, so a node
    with 100,000 children costs what one with 1,001 does."""
    counts: dict[str, tuple[int, bool]] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        rows = ", ".join(f"(:id{i})" for i in range(len(chunk)))
        query = text(_CHILD_COUNTS.format(rows=rows, limit=int(limit) + 1))
        params = {"session_id": session_id, **{f"id{i}": v for i, v in enumerate(chunk)}}
        for event_id, n in conn.execute(query, params).all():
            if n:
                counts[str(event_id)] = (min(int(n), limit), n <= limit)
    return counts


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + IDS_PER_QUERY] for i in range(0, len(values), IDS_PER_QUERY)]


def _order(row: Any) -> tuple[datetime, int]:
    return row["init_timestamp"], int(row["seq"])


def to_brief(row: Any) -> EventBrief:
    """An events row (without payload) as the waterfall draws it."""
    return EventBrief(
        id=row["id"],
        event_type=row["event_type"],
        init_timestamp=row["init_timestamp"],
        end_timestamp=row["end_timestamp"],
        name=row["name"],
        model=row["model"],
        agent_id=row["agent_id"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cost_nanos=row["cost_nanos"],
        cost_source=row["cost_source"],
        seq=int(row["seq"]),
        parent_id=row["parent_id"],
    )
