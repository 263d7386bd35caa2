"""SqlStore: the Store on SQLite or PostgreSQL through SQLAlchemy Core.

Writes run in `_transact`: under one in-process lock on SQLite (plus BEGIN IMMEDIATE across
processes), and retried on PostgreSQL deadlock or serialization failure.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, case, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from agentops_server.storage import pricing_sql, session_query, session_words, session_write
from agentops_server.storage.alert_sql import AlertSql
from agentops_server.storage.appends import append_batches
from agentops_server.storage.budget_sql import BudgetSql
from agentops_server.storage.dashboard_sql import DashboardSql
from agentops_server.storage.engine import Engines, create_engines
from agentops_server.storage.event_reads import read_chunk
from agentops_server.storage.records import (
    Agent,
    ApiKey,
    AppendResult,
    Event,
    EventWrite,
    PriceOverride,
    Project,
    Session,
    SessionFilter,
    SessionPage,
    SessionStats,
    SessionWrite,
)
from agentops_server.storage.rows import (
    IDS_PER_SELECT,
    SESSION_BY_ID,
    SESSION_OF_PROJECT,
    SESSIONS_BY_IDS,
    SESSIONS_OF_PROJECT,
    STATS_COLUMNS,
    new_session,
    to_api_key,
    to_event,
    to_project,
    to_session,
    to_stats,
)
from agentops_server.storage.schema import (
    agents,
    api_keys,
    events,
    projects,
    session_stats,
    sessions,
)
from agentops_server.storage.session_write import create_session, update_session
from agentops_server.storage.signout_sql import SignOutSql
from agentops_server.storage.store import Conflict, NotFound
from agentops_server.storage.trace_sql import TraceSql, write_agent

T = TypeVar("T")
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization failure
MAX_ATTEMPTS = 6
POSTGRES_WRITERS = 3
PROJECT_NAMES_LOCK = 0x6167656E746F7073  # "agentops": serializes project creations on PostgreSQL
"""Append transactions in flight per server process on PostgreSQL: while one waits on the
database, the next one's rows are encoded (measured with benchmarks/ingest.py)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def open_store(database_url: str) -> SqlStore:
    """A store on an already migrated database (see storage.migrate.upgrade)."""
    return SqlStore(create_engines(database_url))


class SqlStore(TraceSql, DashboardSql, SignOutSql, AlertSql, BudgetSql):
    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self.dialect = engines.dialect
        # sessions one text search looks at per call (list_sessions with filters.text)
        self.text_scan_limit = session_query.TEXT_SCAN_LIMIT
        self._lock: AbstractContextManager[object] = (
            threading.Lock() if engines.dialect == "sqlite" else nullcontext()
        )
        self.concurrent_writers = 1 if engines.dialect == "sqlite" else POSTGRES_WRITERS

    # --- plumbing ----------------------------------------------------------------------------
    def _transact(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction; retry it on a deadlock or a lost connection."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._lock, self._engines.write.begin() as conn:
                    return work(conn)
            except DBAPIError as exc:
                # a deadlock, or a connection lost (e.g. PostgreSQL restarted): every write
                # here is safe to repeat (appends skip stored ids and count only new rows)
                state = getattr(exc.orig, "sqlstate", None)
                retry = state in RETRYABLE_SQLSTATES or exc.connection_invalidated
                if not retry or attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(0.005 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self) -> AbstractContextManager[Connection]:
        return self._engines.read.connect()

    # --- projects and keys -------------------------------------------------------------------
    def create_project(self, name: str) -> Project:
        project = Project(id=str(uuid.uuid4()), name=name, created_at=utcnow())

        def work(conn: Connection) -> None:
            if self.dialect == "postgresql":  # one creation at a time (SQLite has one writer)
                conn.execute(select(func.pg_advisory_xact_lock(PROJECT_NAMES_LOCK)))
            taken = conn.execute(select(projects.c.id).where(projects.c.name == name)).first()
            if taken is not None:
                raise Conflict(f"a project named {name!r} already exists (id {taken[0]})")
            conn.execute(
                insert(projects).values(id=project.id, name=name, created_at=project.created_at)
            )

        self._transact(work)
        return project

    def list_projects(self) -> list[Project]:
        with self._read() as conn:
            rows = conn.execute(select(projects).order_by(projects.c.created_at, projects.c.id))
            return [to_project(r) for r in rows.mappings()]

    def get_project(self, project_id: str) -> Project:
        with self._read() as conn:
            row = conn.execute(select(projects).where(projects.c.id == project_id)).mappings()
            found = row.first()
        if found is None:
            raise NotFound(f"project {project_id} not found")
        return to_project(found)

    def create_api_key(self, project_id: str, key_hash: str, prefix: str, label: str) -> ApiKey:
        key = ApiKey(
            id=str(uuid.uuid4()),
            project_id=project_id,
            label=label,
            prefix=prefix,
            created_at=utcnow(),
            revoked_at=None,
        )

        def work(conn: Connection) -> None:
            if (
                conn.execute(select(projects.c.id).where(projects.c.id == project_id)).first()
                is None
            ):
                raise NotFound(f"project {project_id} not found")
            conn.execute(
                insert(api_keys).values(
                    id=key.id,
                    project_id=project_id,
                    key_hash=key_hash,
                    prefix=prefix,
                    label=label,
                    created_at=key.created_at,
                    revoked_at=None,
                )
            )

        try:
            self._transact(work)
        except IntegrityError:
            raise Conflict("an API key with this hash already exists") from None
        return key

    def list_api_keys(self, project_id: str) -> list[ApiKey]:
        query = (
            select(api_keys)
            .where(api_keys.c.project_id == project_id)
            .order_by(api_keys.c.created_at, api_keys.c.id)
        )
        with self._read() as conn:
            return [to_api_key(r) for r in conn.execute(query).mappings()]

    def revoke_api_key(self, key_id: str) -> ApiKey:
        def work(conn: Connection) -> ApiKey:
            stmt = (
                update(api_keys)
                .where(api_keys.c.id == key_id)
                .values(revoked_at=func.coalesce(api_keys.c.revoked_at, utcnow()))
                .returning(*api_keys.c)
            )
            row = conn.execute(stmt).mappings().first()
            if row is None:
                raise NotFound(f"API key {key_id} not found")
            return to_api_key(row)

        return self._transact(work)

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        with self._read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash))
            found = row.mappings().first()
        return None if found is None else to_api_key(found)

    def get_api_key(self, key_id: str) -> ApiKey | None:
        with self._read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id))
            found = row.mappings().first()
        return None if found is None else to_api_key(found)

    # --- ingestion ---------------------------------------------------------------------------
    def write_session(self, write: SessionWrite, *, create: bool) -> Session:
        def work(conn: Connection) -> Session:
            now = utcnow()
            if create:
                create_session(conn, self.dialect, write, now)
            else:
                update_session(conn, write, now)
            row = conn.execute(SESSION_BY_ID, {"session_id": write.id}).mappings()
            return to_session(row.one())

        return self._transact(work)

    def start_session(self, write: SessionWrite) -> tuple[Session, bool]:
        def work(conn: Connection) -> tuple[Session, bool]:
            attached = create_session(conn, self.dialect, write, utcnow())
            row = conn.execute(SESSION_BY_ID, {"session_id": write.id}).mappings()
            return to_session(row.one()), attached

        return self._transact(work)

    def create_sessions(self, writes: Sequence[SessionWrite]) -> list[Session | None]:
        def work(conn: Connection) -> list[Session | None]:
            written = session_write.create_sessions(conn, self.dialect, writes, utcnow())
            # a new session is what was inserted (no need to read it back); a re-attached one
            # is read, for its merged columns and statistics (after: a repeated id re-attaches)
            stored = {row["id"]: new_session(row) for row in written.inserted}
            stored.update(_sessions_by_id(conn, SESSIONS_BY_IDS, written.reattached, {}))
            return [stored.get(write.id) for write in writes]

        return self._transact(work) if writes else []

    def append_events(self, events: Sequence[EventWrite]) -> AppendResult:
        return self.append_event_batches([events])[0]

    def append_event_batches(self, batches: Sequence[Sequence[EventWrite]]) -> list[AppendResult]:
        """Several submissions in ONE transaction (the WriteBatcher's path); one result each.

        All or nothing: if any event's session does not exist, NotFound and nothing is stored.
        """
        return self._transact(lambda conn: append_batches(conn, self.dialect, batches, utcnow()))

    def upsert_agent(self, session_id: str, agent_id: str, name: str | None) -> None:
        def work(conn: Connection) -> None:
            if (
                conn.execute(select(sessions.c.id).where(sessions.c.id == session_id)).first()
                is None
            ):
                raise NotFound(f"session {session_id} not found")
            if name is not None:
                session_words.lock(conn, self.dialect, [session_id])
            if write_agent(conn, self.dialect, session_id, agent_id, name):
                session_words.refresh(conn, self.dialect, [session_id])

        self._transact(work)

    def close_inactive_sessions(self, idle_since: datetime, reason: str) -> int:
        last_event = (
            select(session_stats.c.last_event_at)
            .where(session_stats.c.session_id == sessions.c.id)
            .scalar_subquery()
        )
        start = sessions.c.init_timestamp
        # the last event's time, but never before the start (events from a skewed clock)
        end = case((last_event > start, last_event), else_=start)
        stmt = (
            update(sessions)
            .where(sessions.c.end_timestamp.is_(None), sessions.c.last_activity_at < idle_since)
            .values(end_timestamp=end, end_state_reason=reason, auto_ended=True)
            .returning(sessions.c.id)
        )

        def work(conn: Connection) -> int:
            closed = [row[0] for row in conn.execute(stmt)]
            session_words.refresh(conn, self.dialect, closed)  # the reason finds them
            return len(closed)

        return self._transact(work)

    # --- reads -------------------------------------------------------------------------------
    def get_session(self, project_id: str, session_id: str) -> Session:
        params = {"session_id": session_id, "project_id": project_id}
        with self._read() as conn:
            row = conn.execute(SESSION_OF_PROJECT, params).mappings().first()
        if row is None:
            raise NotFound(f"session {session_id} not found")
        return to_session(row)

    def get_sessions(self, project_id: str, session_ids: Sequence[str]) -> dict[str, Session]:
        with self._read() as conn:
            return _sessions_by_id(
                conn, SESSIONS_OF_PROJECT, session_ids, {"project_id": project_id}
            )

    def get_stats(self, project_id: str, session_id: str) -> SessionStats:
        query = (
            select(*STATS_COLUMNS)
            .join_from(session_stats, sessions, sessions.c.id == session_stats.c.session_id)
            .where(sessions.c.id == session_id, sessions.c.project_id == project_id)
        )
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"session {session_id} not found")
        return to_stats(session_id, row)

    def list_sessions(
        self, project_id: str, filters: SessionFilter, cursor: str | None, limit: int
    ) -> SessionPage:
        with self._read() as conn:
            return session_query.list_sessions(
                conn, project_id, filters, cursor, limit, self.text_scan_limit
            )

    def iter_events(
        self, session_id: str, event_type: str | None = None, chunk_size: int = 1000
    ) -> Iterator[Event]:
        after: tuple[datetime, int] | None = None
        while True:
            with self._read() as conn:
                chunk = read_chunk(conn, self.dialect, session_id, event_type, after, chunk_size)
            yield from chunk
            if len(chunk) < chunk_size:
                return
            after = (chunk[-1].init_timestamp, chunk[-1].seq)

    def list_agents(self, session_id: str) -> list[Agent]:
        query = select(agents).where(agents.c.session_id == session_id).order_by(agents.c.id)
        with self._read() as conn:
            return [
                Agent(id=r["id"], session_id=r["session_id"], name=r["name"])
                for r in conn.execute(query).mappings()
            ]

    # --- pricing -----------------------------------------------------------------------------
    def set_price_override(self, override: PriceOverride) -> None:
        self._transact(lambda conn: pricing_sql.set_price_override(conn, self.dialect, override))

    def delete_price_override(self, project_id: str, model: str) -> None:
        self._transact(lambda conn: pricing_sql.delete_price_override(conn, project_id, model))

    def list_price_overrides(self, project_id: str | None = None) -> list[PriceOverride]:
        with self._read() as conn:
            return pricing_sql.list_price_overrides(conn, project_id)

    def iter_llm_events(self, project_id: str | None, chunk_size: int = 1000) -> Iterator[Event]:
        base = pricing_sql.llm_events_query(project_id).limit(chunk_size)
        after = 0
        while True:
            with self._read() as conn:
                chunk = [
                    to_event(r) for r in conn.execute(base.where(events.c.seq > after)).mappings()
                ]
            yield from chunk
            if len(chunk) < chunk_size:
                return
            after = chunk[-1].seq

    def set_event_costs(self, costs: Sequence[tuple[str, str, int | None, str]]) -> None:
        self._transact(lambda conn: pricing_sql.set_event_costs(conn, costs))

    def count_llm_events(self, project_id: str | None) -> int:
        with self._read() as conn:
            return pricing_sql.count_llm_events(conn, project_id)

    def analyze(self) -> None:
        """Refresh the query planner's statistics, e.g. after a bulk import."""
        self._transact(lambda conn: conn.exec_driver_sql("ANALYZE"))

    # --- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self._engines.dispose()


def _sessions_by_id(
    conn: Connection, query: Any, ids: Sequence[str], params: dict[str, Any]
) -> dict[str, Session]:
    """Run `query` (SESSIONS_BY_IDS or SESSIONS_OF_PROJECT) over `ids`, a chunk at a time."""
    found: dict[str, Session] = {}
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), IDS_PER_SELECT):
        chunk = {**params, "session_ids": wanted[start : start + IDS_PER_SELECT]}
        for row in conn.execute(query, chunk).mappings():
            session = to_session(row)
            found[session.id] = session
    return found
