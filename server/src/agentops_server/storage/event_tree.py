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
- child counts: one grouped count over the same index for the ids of the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select, text

from agentops_server.storage import event_cursor
from agentops_server.storage.dashboard_records import EventBrief, TreeLevel, TreeNode
from agentops_server.storage.schema import events

LOOKBACK = 2000  # events started before `since` that are checked for still running then
IDS_PER_QUERY = 500
MISSING_ONE_BY_ONE = 20  # up to this many lost parents, each one's children are one range
Group = tuple[ColumnElement[bool], bool]
"""Events of a level: a condition on parent_id, and whether it names one parent (or NULL)."""
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
    WHERE pid IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM events p WHERE p.session_id = :session_id AND p.id = parents.pid
    )
    """
)
"""Parent ids of the session that name no stored event. Each step seeks the next distinct
parent id in the index (the loose index scan of the PostgreSQL wiki; SQLite plans it the same
way), so the cost grows with the number of distinct parents, not of events."""


def missing_parents(conn: Connection, session_id: str) -> list[str]:
    found = conn.execute(_MISSING_PARENTS, {"session_id": session_id}).scalars()
    return [str(pid) for pid in found]


def list_level(
    conn: Connection,
    session_id: str,
    parent_id: str | None,
    cursor: str | None,
    limit: int,
    since: datetime | None,
) -> TreeLevel:
    """A page of one level in time order; see Store.list_tree_level."""
    groups: list[Group]
    if parent_id is None:
        missing = missing_parents(conn, session_id)
        groups = [(events.c.parent_id.is_(None), True)]
        if len(missing) <= MISSING_ONE_BY_ONE:
            groups += [(events.c.parent_id == m, True) for m in missing]
        else:  # many lost parents: their children are sorted, never more than the orphans
            groups += [(events.c.parent_id.in_(chunk), False) for chunk in _chunks(missing)]
    else:
        groups = [(events.c.parent_id == parent_id, True)]
    position = None if cursor is None else event_cursor.decode(cursor, "t", parent_id)

    running: list[Any] = []
    if position is None and since is not None:
        for group in groups:
            running += _running(conn, session_id, group, since)
    rows: list[Any] = []
    for condition, one_parent in groups:
        query = select(*BRIEF_COLUMNS).where(events.c.session_id == session_id, condition)
        if position is not None:
            query = query.where(event_cursor.after(*position))
        elif since is not None:
            query = query.where(events.c.init_timestamp >= since)
        query = query.order_by(*_index_order(one_parent)).limit(limit + 1)
        rows += conn.execute(query).mappings().all()

    rows.sort(key=_order)
    running.sort(key=_order)
    page = [to_brief(r) for r in running + rows[:limit]]
    counts = _child_counts(conn, session_id, [b.id for b in page])
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = event_cursor.encode("t", last["init_timestamp"], last["seq"], parent_id)
    nodes = [TreeNode(b, counts.get(b.id, 0)) for b in page]
    return TreeLevel(nodes=nodes, next_cursor=next_cursor, running=len(running))


def _index_order(one_parent: bool, descending: bool = False) -> list[Any]:
    """Time order. For one parent it is spelled as ix_events_session_parent's own order: the
    same rows in the same order, but no planner then walks the time index instead, filtering
    out other levels' events (PostgreSQL's statistics, shared by all sessions, may rate that
    cheaper, and it reads the whole session)."""
    keys = [events.c.init_timestamp, events.c.seq]
    if one_parent:
        keys.insert(0, events.c.parent_id)
    return [key.desc() for key in keys] if descending else keys


def _running(conn: Connection, session_id: str, group: Group, since: datetime) -> list[Any]:
    """Events of the group started before `since` (among the last LOOKBACK) that end after it:
    a zoomed-in waterfall must still show the span that encloses the view."""
    condition, one_parent = group
    recent = (
        select(events.c.seq)
        .where(events.c.session_id == session_id, condition, events.c.init_timestamp < since)
        .order_by(*_index_order(one_parent, descending=True))
        .limit(LOOKBACK)
        .subquery()
    )
    query = select(*BRIEF_COLUMNS).where(
        events.c.seq.in_(select(recent.c.seq)), events.c.end_timestamp > since
    )
    return list(conn.execute(query).mappings().all())


def _child_counts(conn: Connection, session_id: str, ids: Sequence[str]) -> dict[str, int]:
    """How many events name each of `ids` as their parent (one grouped index range each)."""
    counts: dict[str, int] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        query = (
            select(events.c.parent_id, func.count())
            .where(events.c.session_id == session_id, events.c.parent_id.in_(chunk))
            .group_by(events.c.parent_id)
        )
        counts.update((str(p), int(n)) for p, n in conn.execute(query).all())
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
