"""The SQL of OTLP ingestion: look-ups in a session's event tree, the few updates a late span
makes to stored events, OTLP data held for its token or its span, uploaded logs and objects.

`TraceSql` is mixed into SqlStore; its methods are the "traces" group of the Store.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from agentops_server.storage import search_index, search_text, session_words
from agentops_server.storage.appends import insert_ignore
from agentops_server.storage.payload_content import Records, merge_content
from agentops_server.storage.records import (
    Event,
    PendingOtlp,
    SessionLog,
    StoredObject,
    TakenContent,
    UsageFill,
    pending_size,
)
from agentops_server.storage.rows import to_event
from agentops_server.storage.schema import (
    agents,
    events,
    pending_otlp,
    session_logs,
    stored_objects,
)
from agentops_server.storage.store import NotFound
from agentops_server.storage.usage_fills import fill_usage

T = TypeVar("T")
IDS_PER_QUERY = 500  # ids, or (session, id) keys, bound in one IN (...)

# The ingest path's statements, built once and run with parameters (building and hashing them
# per call cost more than running them).
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_SESSION_IDS: BindParameter[list[str]] = bindparam("session_ids", expanding=True)
# (session, id) keys of several sessions: `session_id IN (...) AND id IN (...)`, which both
# engines answer from the (session_id, id) and (session_id, parent_id, ...) indexes (SQLite
# scans the table for a row-value `(session_id, id) IN (VALUES ...)`); the few rows that match
# a session and an id of different keys are dropped after.
_EVENTS_BY_KEY = select(events).where(events.c.session_id.in_(_SESSION_IDS), events.c.id.in_(_IDS))
_CHILDREN_BY_KEY = (
    select(events)
    .where(events.c.session_id.in_(_SESSION_IDS), events.c.parent_id.in_(_IDS))
    .order_by(events.c.init_timestamp, events.c.seq)
)
_PENDING_TRACES = (
    select(pending_otlp.c.trace_id).where(pending_otlp.c.trace_id.in_(_IDS)).distinct()
)
_HELD_CONTENT = (
    select(pending_otlp.c.trace_id, pending_otlp.c.span_id)
    .where(pending_otlp.c.project_id == bindparam("project_id"), pending_otlp.c.trace_id.in_(_IDS))
    .distinct()
)
_REPARENT = (
    update(events)
    .where(
        events.c.session_id == bindparam("of_session"),
        events.c.parent_id == bindparam("old_parent"),
    )
    .values(parent_id=None)
)

_ASSIGN_AGENT = text(
    """
    UPDATE events SET agent_id = :agent_id
    WHERE session_id = :session_id AND agent_id IS NULL AND id IN (
        WITH RECURSIVE subtree(id) AS (
            SELECT id FROM events WHERE session_id = :session_id AND parent_id = :top
            UNION
            SELECT e.id FROM events e JOIN subtree s ON e.parent_id = s.id
            WHERE e.session_id = :session_id
        )
        SELECT id FROM subtree
    )
    """
)
"""The events below `top` without an agent get `agent_id` (`top` is the agent's own event, or
an event that took its agent from a stored parent after its children were stored). The UPDATE
comes first (a statement opening with WITH reports no row count on SQLite)."""


def write_agent(
    conn: Connection, dialect: str, session_id: str, agent_id: str, name: str | None
) -> bool:
    """Add the agent to its (stored) session; a name given replaces the stored one. True when
    the session's agent names changed (its words must be refreshed: storage/session_words.py,
    whose `lock` a PostgreSQL caller takes first)."""
    params = {"session_id": session_id, "id": agent_id, "name": name}
    written = conn.execute(_agent_upsert(dialect, name is not None), params).first()
    return written is not None and name is not None


@functools.cache
def _agent_upsert(dialect: str, named: bool) -> Any:
    """Answers a row if it inserted the agent or changed its name."""
    stmt = insert_ignore(dialect, agents)
    if not named:  # a nameless repeat keeps the stored name
        upsert = stmt.on_conflict_do_nothing(index_elements=["session_id", "id"])
    else:
        upsert = stmt.on_conflict_do_update(
            index_elements=["session_id", "id"],
            set_={"name": stmt.excluded.name},
            where=agents.c.name.is_distinct_from(stmt.excluded.name),
        )
    return upsert.returning(agents.c.id)


class TraceSql:
    """The trace methods of SqlStore (which provides `_read`, `_transact`, `dialect`)."""

    dialect: str

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _transact(self, work: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    # --- the event tree ------------------------------------------------------------------------
    def get_events(self, session_id: str, ids: Sequence[str]) -> list[Event]:
        """The stored events of the session among `ids` (any order; missing ones left out)."""
        return self.events_in([(session_id, event_id) for event_id in ids])

    def child_events(self, session_id: str, parent_ids: Sequence[str]) -> list[Event]:
        """The stored children of these events (in time order)."""
        return self.children_of([(session_id, parent_id) for parent_id in parent_ids])

    def events_in(self, keys: Sequence[tuple[str, str]]) -> list[Event]:
        """The stored events among (session id, event id) keys, of any sessions (any order;
        missing ones left out): what a request's traces look up, in one query."""
        return self._by_keys(_EVENTS_BY_KEY, keys, lambda e: (e.session_id, e.id))

    def children_of(self, keys: Sequence[tuple[str, str]]) -> list[Event]:
        """The stored events whose (session id, parent id) is among keys (in time order)."""
        return self._by_keys(_CHILDREN_BY_KEY, keys, lambda e: (e.session_id, e.parent_id))

    def _by_keys(
        self,
        query: Any,
        keys: Sequence[tuple[str, str]],
        key_of: Callable[[Event], tuple[str, str | None]],
    ) -> list[Event]:
        found: list[Event] = []
        wanted = list(dict.fromkeys(keys))
        with self._read() as conn:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = wanted[start : start + IDS_PER_QUERY]
                params = {
                    "session_ids": list(dict.fromkeys(session for session, _ in chunk)),
                    "ids": list(dict.fromkeys(key for _, key in chunk)),
                }
                rows = conn.execute(query, params).mappings()
                asked = set(chunk)
                found += [e for e in map(to_event, rows) if key_of(e) in asked]
        return found

    def assign_agent(self, session_id: str, agent_id: str) -> int:
        """Give every event below the agent's event that has no agent yet this agent (an inner
        agent's subtree keeps its own). Returns how many events changed."""
        params = {"session_id": session_id, "agent_id": agent_id, "top": agent_id}
        return self._transact(lambda conn: int(conn.execute(_ASSIGN_AGENT, params).rowcount))

    def finish_traces(
        self,
        agents: Sequence[tuple[str, str, str | None]],
        roots: Sequence[tuple[str, str]],
        inherited: Sequence[tuple[str, str, str]] = (),
        fills: Sequence[UsageFill] = (),
    ) -> None:
        """In one transaction: each (session, agent id, name) written and given its subtree
        (upsert_agent, then assign_agent), each (session, event id, agent id) of `inherited`
        gives its agent to its subtree the same way, then each (session, root span id)'s
        children moved under the session (reparent_children), and the fills applied
        (storage/usage_fills.py)."""
        if not agents and not roots and not inherited and not fills:
            return

        def work(conn: Connection) -> None:
            # the sessions whose agents get names are locked first, as appends lock theirs
            session_words.lock(conn, self.dialect, [s for s, _, name in agents if name is not None])
            renamed: list[str] = []
            for session_id, agent_id, name in agents:
                if write_agent(conn, self.dialect, session_id, agent_id, name):
                    renamed.append(session_id)
                assign = {"session_id": session_id, "agent_id": agent_id, "top": agent_id}
                conn.execute(_ASSIGN_AGENT, assign)
            for session_id, top, agent_id in inherited:
                assign = {"session_id": session_id, "agent_id": agent_id, "top": top}
                conn.execute(_ASSIGN_AGENT, assign)
            if roots:
                params = [{"of_session": s, "old_parent": root} for s, root in roots]
                conn.execute(_REPARENT, params)
            if fills:
                fill_usage(conn, fills)
            session_words.refresh(conn, self.dialect, renamed)

        self._transact(work)

    def reparent_children(self, session_id: str, parent_id: str) -> int:
        """Move the children of `parent_id` directly under the session (parent_id NULL): the
        parent turned out to be the trace's root span, which is the session itself."""
        params = {"of_session": session_id, "old_parent": parent_id}
        return self._transact(lambda conn: int(conn.execute(_REPARENT, params).rowcount))

    def merge_event_payload(self, session_id: str, event_id: str, records: Records) -> bool:
        """Add GenAI content from log records to a stored event's payload (see merge_content).
        False if the event is not stored."""
        return self._transact(
            lambda conn: _merge(conn, self.dialect, session_id, event_id, records)
        )

    # --- OTLP data waiting for its token or its span --------------------------------------------
    def hold_pending(self, rows: Sequence[PendingOtlp]) -> None:
        if rows:
            self._transact(lambda conn: _hold(conn, rows))

    def pending_bytes(self, project_id: str | None = None) -> int:
        """Bytes held for `project_id` (log contents waiting for their spans), or with None
        for the clients that have no token yet (spans, uploads)."""
        owner = pending_otlp.c.project_id
        held = select(func.coalesce(func.sum(pending_otlp.c.size), 0)).where(
            owner.is_(None) if project_id is None else owner == project_id
        )
        with self._read() as conn:
            return int(conn.execute(held).scalar_one())

    def claim_pending(
        self, trace_ids: Sequence[str], project_id: str, span_ids: Sequence[str] | None = None
    ) -> list[PendingOtlp]:
        """Take (delete and return) what waits for these traces: token-less spans and uploads,
        and log content held for this project; with `span_ids`, only the log content held for
        those spans (and any an earlier version held for a whole trace): the rest waits on for
        its own spans. Oldest first."""
        owner = pending_otlp.c.project_id
        return self._take_held(trace_ids, or_(owner.is_(None), owner == project_id), span_ids)

    def join_content(
        self,
        trace_id: str,
        project_id: str,
        span_ids: Sequence[str],
        session_id: str,
        split: Callable[[list[PendingOtlp]], TakenContent],
    ) -> list[PendingOtlp]:
        """In one transaction: take the log content held for this project for these spans of
        the trace, and any an earlier version held for the whole trace (oldest first); merge
        what `split` makes of it into the spans' events of the session; hold again the rest
        and the rows of spans whose event is gone. Returns the rows held again. A failure at
        any statement rolls all of it back: the content is still held as it was."""

        def work(conn: Connection) -> list[PendingOtlp]:
            owned = pending_otlp.c.project_id == project_id
            taken = _take_rows(conn, [trace_id], owned, sorted(set(span_ids)))
            if not taken:
                return []
            done = split(taken)
            gone = {
                span_id
                for span_id, records in sorted(done.merges.items())  # events locked in order
                if not _merge(conn, self.dialect, session_id, span_id, records)
            }
            again = [row for row in done.mine if row.span_id in gone] + done.rest
            _hold(conn, again)
            return again

        return self._transact(work)

    def _take_held(
        self, trace_ids: Sequence[str], owned: Any, span_ids: Sequence[str] | None
    ) -> list[PendingOtlp]:
        wanted = sorted(set(trace_ids))
        if not wanted:
            return []
        spans = sorted(set(span_ids)) if span_ids is not None else None
        return self._transact(lambda conn: _take_rows(conn, wanted, owned, spans))

    def pending_traces(self, trace_ids: Sequence[str]) -> set[str]:
        """Which of these traces something waits for (a cheap read before claiming: content
        waiting for a span that has not come costs the other traces of a request nothing)."""
        wanted = sorted(set(trace_ids))
        found: set[str] = set()
        with self._read() as conn:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                params = {"ids": wanted[start : start + IDS_PER_QUERY]}
                found.update(conn.execute(_PENDING_TRACES, params).scalars())
        return found

    def held_content(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, set[str | None]]:
        """Per trace among these, the spans whose log content is held for this project (None:
        content an earlier version held for the whole trace): what a request that stored
        spans of these traces looks for after its commit (one read for the request)."""
        wanted = sorted(set(trace_ids))
        found: dict[str, set[str | None]] = {}
        with self._read() as conn:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                params = {"project_id": project_id, "ids": wanted[start : start + IDS_PER_QUERY]}
                for trace_id, span_id in conn.execute(_HELD_CONTENT, params):
                    found.setdefault(trace_id, set()).add(span_id)
        return found

    def expire_pending(self, received_before: datetime) -> int:
        """Drop what waited since before `received_before`; returns how many rows."""
        stmt = delete(pending_otlp).where(pending_otlp.c.received_at < received_before)
        return self._transact(lambda conn: int(conn.execute(stmt).rowcount))

    # --- uploaded logs and objects ---------------------------------------------------------------
    def add_session_log(self, session_id: str, body: str) -> None:
        values = {"session_id": session_id, "received_at": datetime.now(UTC), "body": body}
        self._transact(lambda conn: conn.execute(insert(session_logs).values(values)))

    def list_session_logs(self, session_id: str) -> list[SessionLog]:
        query = (
            select(session_logs)
            .where(session_logs.c.session_id == session_id)
            .order_by(session_logs.c.seq)
        )
        with self._read() as conn:
            return [
                SessionLog(r["session_id"], r["received_at"], r["body"])
                for r in conn.execute(query).mappings()
            ]

    def put_object(self, project_id: str, body: str) -> StoredObject:
        stored = StoredObject(
            id=uuid.uuid4().hex,
            project_id=project_id,
            created_at=datetime.now(UTC),
            size=len(body.encode()),
            body=body,
        )
        values = {
            "id": stored.id,
            "project_id": project_id,
            "created_at": stored.created_at,
            "size": stored.size,
            "body": body,
        }
        self._transact(lambda conn: conn.execute(insert(stored_objects).values(values)))
        return stored

    def get_object(self, project_id: str, object_id: str) -> StoredObject:
        query = select(stored_objects).where(
            stored_objects.c.id == object_id, stored_objects.c.project_id == project_id
        )
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"object {object_id} not found")
        return StoredObject(
            row["id"], row["project_id"], row["created_at"], row["size"], row["body"]
        )


def _merge(
    conn: Connection, dialect: str, session_id: str, event_id: str, records: Records
) -> bool:
    """merge_event_payload's work, in the caller's transaction."""
    where = and_(events.c.session_id == session_id, events.c.id == event_id)
    # the row locked (PostgreSQL; SQLite has one writer): a retried request merged by another
    # worker at the same time finds its records there, and adds nothing
    row = conn.execute(select(events.c.payload).where(where).with_for_update()).first()
    if row is None:
        return False
    payload = dict(row[0] or {})
    taken = merge_content(payload, records)
    if taken:
        conn.execute(update(events).where(where).values(payload=payload))
        # the words of what it took, as the event's own were indexed when it was stored (not
        # of what it left out: the span's own content wins)
        words = search_text.documents([_LogContent(session_id, taken)])
        search_index.add_documents(conn, dialect, words)
    return True


def _hold(conn: Connection, rows: Sequence[PendingOtlp]) -> None:
    """hold_pending's work, in the caller's transaction."""
    if not rows:
        return
    values = [
        {
            "trace_id": r.trace_id,
            "project_id": r.project_id,
            "kind": r.kind,
            "received_at": r.received_at,
            "size": pending_size(r.body),
            "body": r.body,
            "span_id": r.span_id,
        }
        for r in rows
    ]
    conn.execute(insert(pending_otlp), values)


def _take_rows(
    conn: Connection, wanted: list[str], owned: Any, spans: list[str] | None
) -> list[PendingOtlp]:
    """Take (delete and return) the held rows of these traces that `owned` selects; with
    `spans`, only the log content of those spans and any held for a whole trace. Oldest first."""
    rows: list[Any] = []
    for start in range(0, len(wanted), IDS_PER_QUERY):
        traces = pending_otlp.c.trace_id.in_(wanted[start : start + IDS_PER_QUERY])
        if spans is None:
            rows += _take(conn, and_(traces, owned))
            continue
        rows += _take(conn, and_(traces, owned, pending_otlp.c.span_id.is_(None)))
        for first in range(0, len(spans), IDS_PER_QUERY):
            of_spans = pending_otlp.c.span_id.in_(spans[first : first + IDS_PER_QUERY])
            rows += _take(conn, and_(traces, owned, of_spans))
    rows.sort(key=lambda r: int(r["seq"]))
    return [
        PendingOtlp(
            r["trace_id"], r["project_id"], r["kind"], r["body"], r["received_at"], r["span_id"]
        )
        for r in rows
    ]


def _take(conn: Connection, where: Any) -> list[Any]:
    """DELETE ... RETURNING: of two requests claiming at once (PostgreSQL, several workers),
    each row goes to the one whose delete removed it, never to both."""
    return list(conn.execute(delete(pending_otlp).where(where).returning(pending_otlp)).mappings())


@dataclass(frozen=True, slots=True)
class _LogContent:
    """GenAI content from log records added to a stored event, as search_text reads events."""

    session_id: str
    payload: dict[str, Any]
    name: str | None = None
    model: str | None = None
