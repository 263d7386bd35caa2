"""The Store: the only door to persistence. Intent-named, engine-agnostic, synchronous.

Implementations live beside this file (SQLAlchemy Core over SQLite or PostgreSQL). Callers in
async code run these methods in a worker thread; writes are serialized by the implementation
(one writer for SQLite, row locks for PostgreSQL) so statistics stay exact under concurrency.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Protocol

from agentops_server.storage.alert_records import (
    AlertAttempt,
    AlertDelivery,
    AlertFiring,
    AlertRule,
    AlertRuleWrite,
)
from agentops_server.storage.budget_records import ProjectBudget, ProjectSpend
from agentops_server.storage.dashboard_records import (
    EventBrief,
    EventDensity,
    EventMatch,
    EventWindow,
    Overview,
    SessionExtras,
    SessionSort,
    TreeLevel,
    User,
)
from agentops_server.storage.payload_content import Records
from agentops_server.storage.records import (
    Agent,
    ApiKey,
    AppendResult,
    Event,
    EventWrite,
    PendingOtlp,
    PriceOverride,
    Project,
    Session,
    SessionFilter,
    SessionLog,
    SessionPage,
    SessionStats,
    SessionWrite,
    StoredObject,
    TakenContent,
    UsageFill,
)


class StoreError(Exception):
    """Base class of storage errors that callers are expected to handle."""


class NotFound(StoreError):
    """The row does not exist, or belongs to another project."""


class Conflict(StoreError):
    """The write contradicts stored data (e.g. a session id owned by another project)."""


class LimitExceeded(StoreError):
    """A write would take a stored total past what storage and sums over it can hold."""


class InvalidCursor(StoreError, ValueError):
    """A pagination cursor that this store did not issue (or that was altered)."""


class Store(Protocol):
    concurrent_writers: int
    """How many append transactions may run at once: 1 on SQLite (one writer per file), more
    on PostgreSQL, whose row locks keep concurrent appends to one session exact."""

    # --- projects and keys -------------------------------------------------------------------
    def create_project(self, name: str) -> Project: ...  # Conflict if the name is taken
    def list_projects(self) -> list[Project]: ...
    def get_project(self, project_id: str) -> Project: ...  # raises NotFound
    def create_api_key(self, project_id: str, key_hash: str, prefix: str, label: str) -> ApiKey: ...
    def list_api_keys(self, project_id: str) -> list[ApiKey]: ...
    def revoke_api_key(self, key_id: str) -> ApiKey: ...  # raises NotFound
    def find_api_key(self, key_hash: str) -> ApiKey | None: ...  # revoked keys are returned too
    def get_api_key(self, key_id: str) -> ApiKey | None: ...  # by id; revoked ones too

    # --- ingestion ---------------------------------------------------------------------------
    def write_session(self, write: SessionWrite, *, create: bool) -> Session:
        """Create (or re-attach to) a session, or update one. Never wipes stored data.

        create=True: insert if absent; if present and owned by write.project_id, re-attach
        (keep init_timestamp, merge tags); if owned by another project, raise Conflict.
        create=False: update the fields that are not None; raise NotFound if absent or foreign.
        """
        ...

    def start_session(self, write: SessionWrite) -> tuple[Session, bool]:
        """write_session(write, create=True), and whether the writer re-attached to a session
        another process started (stored already, with another init_timestamp): an inherited
        session, whose writer adds tags rather than replacing the owner's."""
        ...

    def append_events(self, events: Sequence[EventWrite]) -> AppendResult:
        """Insert events, skipping ids already stored for their session, and add exactly the
        inserted ones to session_stats in the same transaction."""
        ...

    def upsert_agent(self, session_id: str, agent_id: str, name: str | None) -> None: ...

    def close_inactive_sessions(self, idle_since: datetime, reason: str) -> int:
        """Give sessions with no end and no activity since `idle_since` an end time (their last
        event, else their start) and `reason`, marking them auto_ended. Returns how many."""
        ...

    def create_sessions(self, writes: Sequence[SessionWrite]) -> list[Session | None]:
        """write_session(write, create=True) for each, in ONE transaction (OTLP ingest: the
        new traces of a request); each session as stored, or None where the id is another
        project's (that write changed nothing)."""
        ...

    # --- reads -------------------------------------------------------------------------------
    def get_session(self, project_id: str, session_id: str) -> Session: ...  # raises NotFound
    def get_sessions(self, project_id: str, session_ids: Sequence[str]) -> dict[str, Session]:
        """The project's sessions among `session_ids` (missing and foreign ones left out)."""
        ...

    def get_stats(self, project_id: str, session_id: str) -> SessionStats: ...  # raises NotFound
    def list_sessions(
        self, project_id: str, filters: SessionFilter, cursor: str | None, limit: int
    ) -> SessionPage:
        """Newest first (init_timestamp, id), keyset-paginated."""
        ...

    def iter_events(
        self, session_id: str, event_type: str | None = None, chunk_size: int = 1000
    ) -> Iterator[Event]:
        """Events of a session in time order, read in chunks so memory stays flat."""
        ...

    def list_agents(self, session_id: str) -> list[Agent]: ...

    # --- pricing -----------------------------------------------------------------------------
    def set_price_override(self, override: PriceOverride) -> None: ...
    def delete_price_override(self, project_id: str, model: str) -> None: ...  # raises NotFound
    def list_price_overrides(self, project_id: str | None = None) -> list[PriceOverride]: ...
    def iter_llm_events(self, project_id: str | None, chunk_size: int = 1000) -> Iterator[Event]:
        """Every LLM event (of one project, or all), for re-pricing."""
        ...

    def set_event_costs(self, costs: Sequence[tuple[str, str, int | None, str]]) -> None:
        """(session_id, event_id, cost_nanos, cost_source) for each event; the sessions'
        stats are adjusted by the difference in the same transaction."""
        ...

    def count_llm_events(self, project_id: str | None) -> int: ...

    # --- dashboard: accounts, overview, sorted lists, event windows and tree (dashboard_sql.py)
    def create_user(self, email: str, password_hash: str) -> User: ...  # raises Conflict
    def find_user(self, email: str) -> User | None: ...
    def get_user(self, user_id: str) -> User: ...  # raises NotFound
    def count_users(self) -> int: ...
    def set_user_password(self, user_id: str, password_hash: str) -> None: ...  # NotFound
    # --- server-side sign-out (signout_sql.py)
    def end_dashboard_session(self, session_id: str, expires_at: datetime) -> None: ...
    def dashboard_session_ended(self, session_id: str) -> bool: ...
    def end_all_dashboard_sessions(self, user_id: str) -> int: ...  # NotFound
    def find_session_project(self, session_id: str) -> str | None: ...
    def list_sessions_sorted(
        self,
        project_id: str,
        filters: SessionFilter,
        sort: SessionSort,
        cursor: str | None,
        limit: int,
    ) -> SessionPage:
        """Sessions in `sort` order (newest, oldest, cost, duration), keyset-paginated through
        an index for each order; a cursor is only valid for the order that issued it."""
        ...

    def session_extras(self, session_ids: list[str]) -> dict[str, SessionExtras]:
        """Agents, models and a prompt preview of each session (a page of the list)."""
        ...

    def recent_models(self, project_id: str) -> list[str]:
        """The models named by the LLM calls of the project's newest sessions (a bounded read:
        the suggestions of the sessions list's model filter), in name order."""
        ...

    def overview(
        self,
        project_id: str,
        start: datetime | None,
        end: datetime | None,
        hourly: bool = False,
    ) -> Overview:
        """Totals, per-UTC-day (or hour) series, every model and LLM latency percentiles of
        the sessions started in [start, end)."""
        ...

    def event_density(
        self, session_id: str, start: datetime, end: datetime, buckets: int
    ) -> EventDensity: ...
    def list_event_window(
        self,
        session_id: str,
        start: datetime,
        end: datetime,
        cursor: str | None,
        limit: int,
        match: EventMatch | None = None,
    ) -> EventWindow:
        """Events starting in [start, end) that `match` selects, time order, without payloads,
        keyset-paginated."""
        ...

    def list_running_events(
        self, session_id: str, at: datetime, lookback: int = 2000
    ) -> list[EventBrief]:
        """Events started before `at` (among the last `lookback`) that end after it."""
        ...

    def list_tree_level(
        self,
        session_id: str,
        parent_id: str | None,
        cursor: str | None,
        limit: int,
        since: datetime | None = None,
    ) -> TreeLevel:
        """One level of the event tree, time order, keyset pages, each node with its child
        count (exact up to 1,000): the children of `parent_id`, or with None the top level
        (no parent, or a parent that is not stored). The first page may start at `since`, led
        by the level's events still running then. A cursor continues only the level that
        issued it."""
        ...

    def get_event(self, session_id: str, event_id: str) -> Event: ...  # raises NotFound

    # --- OTLP traces: the event tree, held data, uploads (trace_sql.py) -----------------------
    def get_events(self, session_id: str, ids: Sequence[str]) -> list[Event]: ...
    def child_events(self, session_id: str, parent_ids: Sequence[str]) -> list[Event]: ...
    def events_in(self, keys: Sequence[tuple[str, str]]) -> list[Event]:
        """get_events for (session id, event id) keys of any sessions, in one call."""
        ...

    def children_of(self, keys: Sequence[tuple[str, str]]) -> list[Event]:
        """child_events for (session id, parent id) keys of any sessions, in one call."""
        ...

    def assign_agent(self, session_id: str, agent_id: str) -> int:
        """Events below the agent's event with no agent get this one (inner agents keep theirs)."""
        ...

    def finish_traces(
        self,
        agents: Sequence[tuple[str, str, str | None]],
        roots: Sequence[tuple[str, str]],
        inherited: Sequence[tuple[str, str, str]] = (),
        fills: Sequence[UsageFill] = (),
    ) -> None:
        """In one transaction: each (session, agent id, name) upserted and given its subtree,
        each (session, event id, agent id) of `inherited` gives its agent to its subtree's
        events that have none, then each (session, root span id)'s children moved directly
        under the session; and each fill given to its LLM event if that event is still as it
        was read, with its session's statistics (storage/usage_fills.py)."""
        ...

    def reparent_children(self, session_id: str, parent_id: str) -> int:
        """Children of `parent_id` move directly under the session (it was the root span)."""
        ...

    def merge_event_payload(
        self, session_id: str, event_id: str, records: Records
    ) -> bool: ...  # False if the event is not stored; each record merged once
    def hold_pending(self, rows: Sequence[PendingOtlp]) -> None: ...
    def pending_bytes(self, project_id: str | None = None) -> int:
        """Bytes held for `project_id`, or with None for clients without a token yet."""
        ...

    def pending_traces(self, trace_ids: Sequence[str]) -> set[str]: ...
    def claim_pending(
        self, trace_ids: Sequence[str], project_id: str, span_ids: Sequence[str] | None = None
    ) -> list[PendingOtlp]:
        """Delete and return what waits for these traces: token-less or this project's; with
        `span_ids`, of the log content held for spans only that of these spans."""
        ...

    def join_content(
        self,
        trace_id: str,
        project_id: str,
        span_ids: Sequence[str],
        session_id: str,
        split: Callable[[list[PendingOtlp]], TakenContent],
    ) -> list[PendingOtlp]:
        """In one transaction: take the log content held for this project for these spans of
        the trace and any held for the whole trace (before migration 0011), merge what
        `split` makes of it into the events of the session, hold again the rest and the rows
        of spans whose event is gone (returned). A failure rolls it all back: still held."""
        ...

    def held_content(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, set[str | None]]:
        """Per trace, the spans whose log content is held for this project (None: for the
        whole trace, before migration 0011)."""
        ...

    def expire_pending(self, received_before: datetime) -> int: ...
    def add_session_log(self, session_id: str, body: str) -> None: ...
    def list_session_logs(self, session_id: str) -> list[SessionLog]: ...
    def put_object(self, project_id: str, body: str) -> StoredObject: ...
    def get_object(self, project_id: str, object_id: str) -> StoredObject: ...  # NotFound

    # --- alerts (alert_sql.py) ----------------------------------------------------------------
    def create_alert_rule(self, write: AlertRuleWrite) -> AlertRule: ...  # NotFound (project)
    def list_alert_rules(self, project_id: str | None = None) -> list[AlertRule]: ...
    def delete_alert_rule(self, project_id: str, rule_id: str) -> AlertRule: ...  # NotFound
    def fire_alert_rule(self, rule: AlertRule, now: datetime) -> list[AlertFiring]:
        """Evaluate a rule and claim its new occurrences: each is returned by one call only,
        across processes (a unique (rule, occurrence) row)."""
        ...

    def claim_alert_deliveries(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int = 10,
        *,
        per_rule: int | None = None,
        skip_rules: Collection[str] = (),
    ) -> list[AlertDelivery]:
        """Lease firings due for a delivery attempt (at most `per_rule` of a rule, none of
        `skip_rules`); a leased firing is no one else's."""
        ...

    def record_alert_attempt(
        self, firing_id: str, attempt: AlertAttempt, retry_at: datetime | None
    ) -> None: ...
    def list_alert_firings(
        self, project_id: str, rule_id: str | None = None, limit: int = 100
    ) -> list[AlertFiring]: ...

    # --- project budgets (budget_sql.py) ------------------------------------------------------
    def get_budget(self, project_id: str) -> ProjectBudget: ...  # raises NotFound
    def set_budget(
        self, project_id: str, daily_limit_nanos: int | None, monthly_limit_nanos: int | None
    ) -> ProjectBudget: ...  # raises NotFound
    def project_spend(
        self, project_id: str, day: tuple[datetime, datetime], month: tuple[datetime, datetime]
    ) -> ProjectSpend:
        """Cost (nano-USD) of the project's events that started in [day) and in [month)."""
        ...

    # --- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None: ...
