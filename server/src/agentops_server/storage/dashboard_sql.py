"""The dashboard's SQL: accounts, the overview, sorted session lists and event windows.

`DashboardSql` is mixed into SqlStore; its methods are the "dashboard" group of the Store.
Sorted lists walk an index for every order: (project, init) for time, the trigger-kept
(project, duration_ms) and (project, cost) indexes of migration 0002 for duration and cost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from agentops_server.storage import (
    event_cursor,
    event_match,
    event_tree,
    model_calls,
    overview_sql,
    session_sort,
)
from agentops_server.storage.dashboard_records import (
    EventBrief,
    EventDensity,
    EventMatch,
    EventWindow,
    LaneBucket,
    Overview,
    SessionExtras,
    SessionSort,
    TreeLevel,
    User,
)
from agentops_server.storage.records import Event, SessionFilter, SessionPage
from agentops_server.storage.rows import to_event
from agentops_server.storage.schema import events, sessions, users
from agentops_server.storage.session_extras import read_extras
from agentops_server.storage.store import Conflict, NotFound
from agentops_server.storage.types import UTCDateTime

T = TypeVar("T")
MAX_LIMIT = 1000
MAX_BUCKETS = 2000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DashboardSql:
    """The dashboard methods of SqlStore (which provides `_read`, `_transact`, `dialect`)."""

    dialect: str
    # sessions one page of a search may read (storage/session_sort.py); public for tuning
    session_scan_limit: int = session_sort.SCAN_LIMIT
    # events in a window above which SQLite counts the waterfall's slices by index ranges
    density_edges_above: int = 10_000
    # children counted per node of the event tree; more show as "1,000+"
    child_count_limit: int = event_tree.CHILD_COUNT_LIMIT
    # newest sessions whose models the sessions list suggests for its model filter
    recent_models_sessions: int = 2000

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _transact(self, work: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    # --- accounts ----------------------------------------------------------------------------
    def create_user(self, email: str, password_hash: str) -> User:
        user = User(str(uuid.uuid4()), email, password_hash, datetime.now(UTC))

        def work(conn: Connection) -> None:
            conn.execute(
                insert(users).values(
                    id=user.id, email=email, password_hash=password_hash, created_at=user.created_at
                )
            )

        try:
            self._transact(work)
        except IntegrityError:
            raise Conflict(f"an account {email!r} already exists") from None
        return user

    def find_user(self, email: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(select(users).where(users.c.email == email)).mappings().first()
        return None if row is None else _to_user(row)

    def get_user(self, user_id: str) -> User:
        with self._read() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
        if row is None:
            raise NotFound(f"account {user_id} not found")
        return _to_user(row)

    def count_users(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def set_user_password(self, user_id: str, password_hash: str) -> None:
        def work(conn: Connection) -> None:
            done = conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            if done.rowcount == 0:
                raise NotFound(f"account {user_id} not found")

        self._transact(work)

    # --- sessions ----------------------------------------------------------------------------
    def find_session_project(self, session_id: str) -> str | None:
        with self._read() as conn:
            query = select(sessions.c.project_id).where(sessions.c.id == session_id)
            value = conn.execute(query).scalar()
        return None if value is None else str(value)

    def list_sessions_sorted(
        self,
        project_id: str,
        filters: SessionFilter,
        sort: SessionSort,
        cursor: str | None,
        limit: int,
    ) -> SessionPage:
        """Sessions in `sort` order, keyset-paginated; cursors are only valid for their sort."""
        limit = max(1, min(limit, MAX_LIMIT))
        with self._read() as conn:
            return session_sort.list_page(
                conn, project_id, filters, sort, cursor, limit, self.session_scan_limit
            )

    def session_extras(self, session_ids: list[str]) -> dict[str, SessionExtras]:
        """Agents, models and a prompt preview of each session (a page of the list)."""
        with self._read() as conn:
            return read_extras(conn, session_ids)

    def recent_models(self, project_id: str) -> list[str]:
        """The models the LLM calls of the project's newest sessions named, in name order."""
        query = model_calls.models_of_recent_sessions(project_id, self.recent_models_sessions)
        with self._read() as conn:
            return [str(model) for model in conn.execute(query).scalars()]

    def overview(
        self,
        project_id: str,
        start: datetime | None,
        end: datetime | None,
        hourly: bool = False,
    ) -> Overview:
        """Totals, per-day (or per-hour) series and every model of the sessions started in
        [start, end), with LLM latency percentiles (storage/overview_sql.py)."""
        with self._read() as conn:
            return overview_sql.read_overview(conn, self.dialect, project_id, start, end, hourly)

    # --- events ------------------------------------------------------------------------------
    def event_density(
        self, session_id: str, start: datetime, end: datetime, buckets: int
    ) -> EventDensity:
        """How many events of each type start in each of `buckets` slices of [start, end)."""
        buckets = max(1, min(buckets, MAX_BUCKETS))
        start_ms, end_ms = _ms(start), max(_ms(end), _ms(start) + 1)
        width = (end_ms - start_ms) / buckets
        in_window = [
            events.c.session_id == session_id,
            events.c.init_timestamp >= start,
            events.c.init_timestamp < end,
        ]
        with self._read() as conn:
            total = conn.execute(select(func.count()).where(*in_window)).scalar_one()
            if self.dialect == "sqlite" and total > self.density_edges_above:
                lanes = _density_by_edges(conn, session_id, start, width, buckets, end)
            else:
                index = _offset_ms(self.dialect, events.c.init_timestamp, start) / width
                floored = func.floor(index) if self.dialect == "postgresql" else index
                bucket = cast(floored, Integer).label("bucket")
                query = (
                    select(bucket, events.c.event_type, func.count().label("n"))
                    .where(*in_window)
                    .group_by(bucket, events.c.event_type)
                )
                lanes = [
                    LaneBucket(index=min(int(b), buckets - 1), event_type=str(t), count=int(n))
                    for b, t, n in conn.execute(query).all()
                ]
        return EventDensity(start_ms, end_ms, width, sum(x.count for x in lanes), lanes)

    def list_event_window(
        self,
        session_id: str,
        start: datetime,
        end: datetime,
        cursor: str | None,
        limit: int,
        match: EventMatch | None = None,
    ) -> EventWindow:
        """Events starting in [start, end) that `match` selects, in time order, no payloads."""
        limit = max(1, min(limit, 5000))
        query = select(*[c for c in events.c if c.name != "payload"]).where(
            events.c.session_id == session_id,
            events.c.init_timestamp >= start,
            events.c.init_timestamp < end,
            event_match.matches(match),
        )
        if cursor:
            query = query.where(event_cursor.after(*event_cursor.decode(cursor, "e")))
        query = query.order_by(events.c.init_timestamp, events.c.seq).limit(limit + 1)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        briefs = [event_tree.to_brief(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit and briefs:
            next_cursor = event_cursor.encode("e", briefs[-1].init_timestamp, briefs[-1].seq)
        return EventWindow(events=briefs, next_cursor=next_cursor)

    def list_running_events(
        self, session_id: str, at: datetime, lookback: int = 2000
    ) -> list[EventBrief]:
        """Events that started before `at` and end after it, in time order: what a zoomed
        waterfall shows entering from its left edge. Only the `lookback` events that started
        last before `at` are considered, so the cost stays bounded."""
        recent = (
            select(events.c.seq)
            .where(events.c.session_id == session_id, events.c.init_timestamp < at)
            .order_by(events.c.init_timestamp.desc(), events.c.seq.desc())
            .limit(lookback)
            .subquery()
        )
        query = (
            select(*[c for c in events.c if c.name != "payload"])
            .where(events.c.seq.in_(select(recent.c.seq)), events.c.end_timestamp > at)
            .order_by(events.c.init_timestamp, events.c.seq)
        )
        with self._read() as conn:
            return [event_tree.to_brief(r) for r in conn.execute(query).mappings()]

    def list_tree_level(
        self,
        session_id: str,
        parent_id: str | None,
        cursor: str | None,
        limit: int,
        since: datetime | None = None,
    ) -> TreeLevel:
        """One level of the session's event tree in time order, keyset-paginated, with each
        node's child count (up to `child_count_limit`): the children of `parent_id`, or (None)
        the top level, which also holds orphans. `since` starts the first page there, after
        the level's events still running at that moment (storage/event_tree.py)."""
        limit = max(1, min(limit, MAX_LIMIT))
        with self._read() as conn:
            return event_tree.list_level(
                conn, session_id, parent_id, cursor, limit, since, self.child_count_limit
            )

    def get_event(self, session_id: str, event_id: str) -> Event:
        query = select(events).where(events.c.session_id == session_id, events.c.id == event_id)
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"event {event_id} not found")
        return to_event(row)


def _density_by_edges(
    conn: Connection, session_id: str, start: datetime, width: float, buckets: int, end: datetime
) -> list[LaneBucket]:
    """Per (type, slice) counts as index range counts: on SQLite, hundreds of tiny counts over
    the (session, type, time) index beat one pass that computes a slice for every event."""
    kinds = conn.execute(
        select(events.c.event_type).where(events.c.session_id == session_id).distinct()
    ).scalars()
    edges = [start + timedelta(microseconds=round(i * width * 1000)) for i in range(buckets)]
    edges.append(end)
    count = select(func.count()).where(
        events.c.session_id == session_id,
        events.c.event_type == bindparam("kind"),
        events.c.init_timestamp >= bindparam("lo", type_=UTCDateTime),
        events.c.init_timestamp < bindparam("hi", type_=UTCDateTime),
    )
    lanes = []
    for kind in list(kinds):
        for i in range(buckets):
            bounds = {"kind": kind, "lo": edges[i], "hi": edges[i + 1]}
            n = conn.execute(count, bounds).scalar_one()
            if n:
                lanes.append(LaneBucket(index=i, event_type=str(kind), count=int(n)))
    return lanes


# --- helpers ---------------------------------------------------------------------------------
def _ms(when: datetime) -> int:
    return (when - EPOCH) // timedelta(milliseconds=1)


def _offset_ms(dialect: str, column: Any, since: datetime) -> Any:
    """Milliseconds from `since` to `column`, exact on either engine (no float julian days:
    an event on a bucket's edge must land in that bucket)."""
    if dialect == "postgresql":
        start = bindparam("window_start", since, type_=UTCDateTime)
        return func.extract("epoch", column - start) * 1000
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff": whole seconds, then the microseconds
    seconds = cast(func.strftime("%s", column), Integer)
    micros = cast(func.substr(column, 21, 6), Integer)
    since_us = (since - EPOCH) // timedelta(microseconds=1)
    return (seconds * 1_000_000 + micros - since_us) / 1000.0


def _to_user(row: Any) -> User:
    return User(
        row["id"], row["email"], row["password_hash"], row["created_at"], row["signin_generation"]
    )
