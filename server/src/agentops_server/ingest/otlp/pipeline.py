"""OTLP ingestion end to end: decoded spans -> sessions, events and agents in the store.

Per trace of a request: write the session (which proves the trace is this project's: a trace
of another project is rejected, its data untouched), take what waited for the trace
(token-less spans, log contents), look up what the batch cannot see, build the events, hand
them to the writer (idempotent by span id, so an exporter's retry is stored once), then the
few updates that late spans make (agents over their subtree, a root's children under the
session).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from starlette.concurrency import run_in_threadpool

from agentops_server.config import ServerConfig
from agentops_server.ingest.otlp.assemble import (
    Assembler,
    Item,
    Stored,
    find_root,
    group_by_trace,
    is_event_root,
    lookups,
    session_id_of,
    session_write,
)
from agentops_server.ingest.otlp.conventions import read_span
from agentops_server.ingest.otlp.decode import decode_traces
from agentops_server.ingest.otlp.held_content import HeldContent
from agentops_server.ingest.otlp.log_content import Contents, contents_by_trace
from agentops_server.ingest.otlp.pending import (
    SPANS,
    UPLOAD,
    content_rows,
    contents_from_json,
    merge_contents,
    spans_from_json,
    spans_to_json,
    split_by_span,
)
from agentops_server.ingest.otlp.spans import LogRecord, Span
from agentops_server.ingest.writer import IngestWriter, WriterUnavailable
from agentops_server.pricing import Pricer
from agentops_server.storage.payload_content import merge_content
from agentops_server.storage.records import (
    EventWrite,
    PendingOtlp,
    Session,
    SessionWrite,
    UsageFill,
    pending_size,
)
from agentops_server.storage.store import NotFound, Store

logger = logging.getLogger("agentops_server.otlp")


Claimed = list[PendingOtlp]
"""Held rows a request took (see OtlpIngest.prepare)."""


class PendingFull(Exception):
    """The store of token-less spans is at its byte limit: the client should retry later."""


@dataclass(slots=True)
class Outcome:
    spans: int = 0
    rejected: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Prepared:
    outcome: Outcome
    project_id: str
    events: list[EventWrite] = field(default_factory=list)
    agents: list[tuple[str, str, str]] = field(default_factory=list)  # session, agent, name
    inherited: list[tuple[str, str, str]] = field(default_factory=list)  # session, event, agent
    rootless: list[str] = field(default_factory=list)
    """Sessions whose events were built while their root was unknown: if the root arrives
    meanwhile, its request may move the children under the session before these are written,
    so after the write they are moved too (see finish)."""
    roots: list[tuple[str, str]] = field(default_factory=list)  # session, root span id
    fills: list[UsageFill] = field(default_factory=list)  # token kinds of stored LLM calls
    spans: dict[str, set[str]] = field(default_factory=dict)  # trace: its spans' events
    contents: list[tuple[str, Contents]] = field(default_factory=list)
    """Per session, the held log contents the events took before they were written."""
    duplicates: int = 0
    """Events the write skipped as stored already (by an exporter's retry, say): held content
    they took is merged into the stored ones (see finish)."""

    def needs_finish(self) -> bool:
        return bool(
            self.agents or self.roots or self.inherited or self.rootless or self.fills or self.spans
        )


@dataclass(slots=True)
class _Trace:
    """One trace of a request, ready to assemble: its spans (with those that waited for it),
    its root if among them, its session, and GenAI log contents that came before its spans."""

    trace_id: str
    items: list[Item]
    root: Item | None
    session: Session
    contents: Contents = field(default_factory=dict)


def is_agentops_client(spans: Sequence[Span]) -> bool:
    """Spans of the agentops 0.4 client, which exports before its token arrives (its resource
    always carries agentops.project.id, "temporary" until then)."""
    return bool(spans) and all("agentops.project.id" in span.resource for span in spans)


class OtlpIngest:
    def __init__(
        self, store: Store, pricer: Pricer, writer: IngestWriter, config: ServerConfig
    ) -> None:
        self._store = store
        self._held = HeldContent(store)
        self._pricer = pricer
        self._writer = writer
        # Python work of requests one at a time (see prepare); with one writer thread doing
        # all of it (SQLite) there is nothing to order, and a token-less request decoding in a
        # worker thread must not hold up the writes
        self._cpu: AbstractContextManager[object] = (
            nullcontext() if writer.single else threading.Lock()
        )
        self._pending_limit = config.otlp_pending_bytes
        self._pending_seconds = config.otlp_pending_seconds

    # --- spans -----------------------------------------------------------------------------
    def decode(self, body: bytes, media: str) -> list[Span]:
        with self._cpu:
            return decode_traces(body, media)

    async def ingest_body(self, body: bytes, media: str, project_id: str) -> Outcome:
        """Decode a request's spans and store them for `project_id`. With one writer thread
        (SQLite) it does all of it, from the bytes to the commit; else decoding and preparing
        take one trip to a worker thread and the writers store the events."""
        try:
            return await self._store_prepared(partial(self._read, body, media, project_id))
        except WriterUnavailable:
            if self._writer.single:
                # a body the client must fix is told so (400) even while the server starts
                # or drains: a retry would never help it
                await run_in_threadpool(self.decode, body, media)
            raise

    def _read(self, body: bytes, media: str, project_id: str, claimed: Claimed) -> _Prepared:
        return self.prepare(self.decode(body, media), project_id, claimed)

    async def _store_prepared(self, prepare: Callable[[Claimed], _Prepared]) -> Outcome:
        """Prepare (taking what waited), write the events and finish: with one writer thread
        (SQLite) all of it there, else preparing in a worker thread and the writers storing."""
        if self._writer.single:
            return await self._writer.run(lambda: self._whole(prepare))
        return await self._prepare_and_commit(prepare)

    def _whole(self, prepare: Callable[[Claimed], _Prepared]) -> Outcome:
        """A request start to finish, on the writer thread."""
        claimed: Claimed = []
        try:
            prepared = prepare(claimed)
            if prepared.events:
                prepared.duplicates = self._store.append_events(prepared.events).duplicates
        except BaseException:
            self._give_back(claimed)
            raise
        if prepared.needs_finish():
            self.finish(prepared)
        return prepared.outcome

    async def _prepare_and_commit(self, prepare: Callable[[Claimed], _Prepared]) -> Outcome:
        claimed: Claimed = []
        try:
            prepared = await run_in_threadpool(prepare, claimed)
            if prepared.events:
                prepared.duplicates = (await self._writer.append(prepared.events)).duplicates
        except BaseException:
            await run_in_threadpool(self._give_back, claimed)
            raise
        if prepared.needs_finish():
            await run_in_threadpool(self.finish, prepared)
        return prepared.outcome

    def _give_back(self, claimed: Claimed) -> None:
        """What a request took from the held spans and log contents and failed to store (a
        refused batch, a database error): held again, as it was, for the trace's next
        request (or joined, if another request stored its span meanwhile). Events are
        idempotent, so giving back what did get stored is harmless."""
        if not claimed:
            return
        try:
            self._store.hold_pending(claimed)
        except Exception:
            logger.exception(
                "could not hold again %d OTLP batch(es) claimed by a failed request: lost",
                len(claimed),
            )
            return
        try:
            self._held.settle(claimed)
        except Exception:
            logger.exception("could not join OTLP log content held again to its stored spans")

    async def hold(self, spans: Sequence[Span]) -> Outcome:
        """Keep token-less spans until an authenticated request names their trace. Only
        traces with no session yet: the client's early exports come before any authenticated
        one, and nobody without a key can add spans to a session that exists (those are
        rejected, each trace with its reason). A session created while they were held gets
        them now (see _store_for_owners)."""
        outcome, held = await run_in_threadpool(self._hold_spans, spans)
        await self._store_for_owners(held)
        return outcome

    def _hold_spans(self, spans: Sequence[Span]) -> tuple[Outcome, list[str]]:
        now = datetime.now(UTC)
        outcome = Outcome(spans=len(spans))
        rows = []
        for trace_id, group in group_by_trace(spans).items():
            if self._store.find_session_project(session_id_of(trace_id)) is None:
                rows.append(PendingOtlp(trace_id, None, SPANS, spans_to_json(group), now))
            else:
                outcome.rejected += len(group)
                outcome.messages.append(
                    f"trace {trace_id}'s session exists, and only a request with its "
                    f"project's key adds to it: its {len(group)} span(s) were not stored"
                )
        self._hold_rows(rows)
        return outcome, [row.trace_id for row in rows]

    async def hold_upload(self, trace_id: str, text: str) -> bool:
        """Keep a token-less log upload (agentops 0.4 uploads its logfile when a trace ends,
        which may be before its token arrives) until an authenticated request names the
        trace, under the same rules and bounds as token-less spans. False if the trace's
        session exists already: then only its project's key adds to it."""
        if not await run_in_threadpool(self._hold_upload, trace_id, text):
            return False
        if text:
            await self._store_for_owners([trace_id])
        return True

    def _hold_upload(self, trace_id: str, text: str) -> bool:
        if self._store.find_session_project(session_id_of(trace_id)) is not None:
            return False
        if text:  # an empty logfile has nothing to keep
            self._hold_rows([PendingOtlp(trace_id, None, UPLOAD, text, datetime.now(UTC))])
        return True

    async def _store_for_owners(self, trace_ids: Sequence[str]) -> None:
        """After a token-less hold commits, what waits for those of its traces whose session
        exists now is stored into it, as a request of the session's project would: an
        authenticated request that created the session meanwhile may have looked for held
        data before the hold committed. If the session is created after this look, its
        request's look (after that commit) finds the held rows; both may look, and each row
        goes to the one whose DELETE takes it (claim_pending). Never another project's: the
        session's project is the one any claim of the trace is for."""
        owners = await run_in_threadpool(self._owners, trace_ids)
        for project_id, traces in sorted(owners.items()):
            await self._store_prepared(partial(self.prepare_held, traces, project_id))

    def _owners(self, trace_ids: Sequence[str]) -> dict[str, list[str]]:
        """Of these traces, those whose session exists, by its project."""
        owners: dict[str, list[str]] = {}
        for trace_id in trace_ids:
            project_id = self._store.find_session_project(session_id_of(trace_id))
            if project_id is not None:
                owners.setdefault(project_id, []).append(trace_id)
        return owners

    def _hold_rows(self, rows: list[PendingOtlp]) -> None:
        """Hold token-less `rows` within the budget of the clients without a token."""
        self._check_budget(rows, None)
        self._store.hold_pending(rows)

    def _check_budget(self, rows: list[PendingOtlp], project_id: str | None) -> None:
        """PendingFull if `rows` would not fit their owner's budget: each project's for its
        log content, and one for all clients without a token, so one project's waiting logs
        never stop another's early exports."""
        size = sum(pending_size(row.body) for row in rows)
        if rows and self._store.pending_bytes(project_id) + size > self._pending_limit:
            raise PendingFull(
                "too much is waiting for its client's token; retry later"
                if project_id is None
                else "too much of this project's log content is waiting for its spans; retry later"
            )

    def expire(self, now: datetime | None = None) -> int:
        """Drop what waited longer than the pending period (the sweeper calls this)."""
        before = (now or datetime.now(UTC)) - timedelta(seconds=self._pending_seconds)
        dropped = self._store.expire_pending(before)
        if dropped:
            logger.warning(
                "dropped %d held OTLP batch(es): no authenticated request named their trace "
                "within %d s (AGENTOPS_OTLP_PENDING_SECONDS)",
                dropped,
                self._pending_seconds,
            )
        return dropped

    def prepare(
        self, spans: Sequence[Span], project_id: str, claimed: Claimed | None = None
    ) -> _Prepared:
        """Pure-Python work runs one request at a time (threads that share the GIL get no
        faster together, and fewer of them leave the writer thread its turn sooner), but not
        the sessions' write: on SQLite it waits for the writer's transaction, and holding the
        lock meanwhile would stall every other request's decoding behind it.

        What waited for the request's traces (held spans, log contents) is taken from the
        store and added to `claimed`, to be given back if the events are not stored."""
        with self._cpu:
            traces = _read_traces(spans, project_id)
        sessions = self._sessions([write for *_, write in traces], project_id)
        waiting = self._store.pending_traces([trace_id for trace_id, *_ in traces])
        prepared = _Prepared(Outcome(spans=len(spans)), project_id)
        with self._cpu:
            mine: list[_Trace] = []
            for trace_id, items, root, write in traces:
                session = sessions.get(write.id)
                if session is None:
                    prepared.outcome.rejected += len(items)
                    prepared.outcome.messages.append(
                        f"trace {trace_id} belongs to another project: its spans were not stored"
                    )
                elif trace_id in waiting:
                    held = self._with_held(trace_id, items, root, session, project_id, claimed)
                    mine.append(held)
                else:
                    mine.append(_Trace(trace_id, items, root, session))
            self._build(prepared, mine)
        return prepared

    def prepare_held(
        self, trace_ids: Sequence[str], project_id: str, claimed: Claimed | None = None
    ) -> _Prepared:
        """What waits for these traces of `project_id`'s sessions (token-less spans and
        uploads, the project's log content for them), prepared as a request of the project
        naming the traces with no spans of its own would have it (see _store_for_owners)."""
        sessions = self._store.get_sessions(project_id, [session_id_of(t) for t in trace_ids])
        prepared = _Prepared(Outcome(), project_id)
        with self._cpu:
            mine: list[_Trace] = []
            for trace_id in trace_ids:
                session = sessions.get(session_id_of(trace_id))
                if session is not None:
                    held = self._with_held(trace_id, [], None, session, project_id, claimed)
                    if held.items:
                        mine.append(held)
            self._build(prepared, mine)
        return prepared

    def _build(self, prepared: _Prepared, traces: list[_Trace]) -> None:
        stored = self._stored(traces)
        for trace in traces:
            self._assemble(prepared, trace, stored.get(trace.session.id, Stored()))

    def _with_held(
        self,
        trace_id: str,
        items: list[Item],
        root: Item | None,
        session: Session,
        project_id: str,
        claimed: Claimed | None,
    ) -> _Trace:
        """The trace with what waited for it: token-less spans join its items, an uploaded log
        is stored with its session, log contents of its spans (the request's and the held
        ones) fill their events later; content for spans still to come waits on."""
        contents: Contents = {}
        held: list[Span] = []
        logs: list[PendingOtlp] = []
        known = {item.span.span_id for item in items}
        asked = sorted(known)  # none: only what waits for the whole trace (token-less spans)
        while True:  # held spans may have content waiting for them too
            found: set[str] = set()
            for row in self._store.claim_pending([trace_id], project_id, asked):
                if row.kind == UPLOAD:
                    self._store.add_session_log(session.id, row.body)
                    continue
                if claimed is not None:
                    claimed.append(row)
                if row.kind == SPANS:
                    spans = spans_from_json(row.body)
                    held += spans
                    found.update(span.span_id for span in spans)
                else:
                    logs.append(row)
            asked = sorted(found - known)
            known |= found
            if not asked:
                break
        whole = [row for row in logs if row.span_id is None]
        if whole:  # held by an earlier version for the whole trace: the rest waits on
            mine, rest = split_by_span(whole, known)
            self._held.hold(rest)  # joined now where another request stored its span
            if claimed is not None:  # given back if the request fails: its part only
                for row in whole:
                    claimed.remove(row)
                claimed += mine
            logs = mine + [row for row in logs if row.span_id is not None]
        for row in logs:
            merge_contents(contents, contents_from_json(row.body))
        if held:
            items = [Item(span, read_span(span)) for span in held] + items
            root = find_root(items)
            session = self._store.write_session(
                session_write(trace_id, items, project_id, root), create=True
            )
        return _Trace(trace_id, items, root, session, contents)

    def _stored(self, traces: list[_Trace]) -> dict[str, Stored]:
        """Per session, what the store holds that its trace's spans need (parents outside the
        batch, children of its LLM and failed spans): two queries for the whole request."""
        parents: list[tuple[str, str]] = []
        watched: list[tuple[str, str]] = []
        for trace in traces:
            of_parents, of_watched = lookups(trace.items, trace.session)
            parents += [(trace.session.id, span_id) for span_id in of_parents]
            watched += [(trace.session.id, span_id) for span_id in of_watched]
        found: dict[str, Stored] = {}
        for event in self._store.events_in(parents) if parents else ():
            found.setdefault(event.session_id, Stored()).parents[event.id] = event
        for event in self._store.children_of(watched) if watched else ():
            if event.parent_id is not None:
                children = found.setdefault(event.session_id, Stored()).children
                children.setdefault(event.parent_id, []).append(event)
        return found

    def _assemble(self, prepared: _Prepared, trace: _Trace, stored: Stored) -> None:
        session, root = trace.session, trace.root
        built = Assembler(session, trace.items, root, stored, self._pricer).build()
        if trace.contents:
            _fill_contents(built.events, trace.contents)
            prepared.contents.append((session.id, trace.contents))
        if built.events:
            spans = prepared.spans.setdefault(trace.trace_id, set())
            spans.update(event.id for event in built.events)
        prepared.events += built.events
        prepared.agents += [(session.id, agent, name) for agent, name in built.agents]
        prepared.inherited += [(session.id, top, agent) for top, agent in built.inherited]
        prepared.fills += built.fills
        if root is not None:
            if not is_event_root(root):  # its children move under the session
                prepared.roots.append((session.id, root.span.span_id))
        elif session.root_span_id is None and built.events:
            prepared.rootless.append(session.id)

    def _sessions(self, writes: list[SessionWrite], project_id: str) -> dict[str, Session]:
        """The request's sessions as stored (another project's left out), written only where
        the request tells something new: most requests hold children of known traces, and a
        read does not queue for SQLite's one writer (the append that follows marks the session
        active anyway). New ones are written together, in one transaction."""
        stored = self._store.get_sessions(project_id, [write.id for write in writes])
        news = [
            write
            for write in writes
            if write.id not in stored or _tells_something_new(write, stored[write.id])
        ]
        for write, session in zip(news, self._store.create_sessions(news), strict=True):
            if session is None:  # another project's trace
                stored.pop(write.id, None)
            else:
                stored[write.id] = session
        return stored

    def finish(self, prepared: _Prepared) -> None:
        """The updates the request's events make to what is stored, after they are written:
        log content held for their spans meanwhile is joined (see held_content.py), held
        content that events stored already took is merged into them, and the roots include
        those that arrived while the request was prepared."""
        self._held.after_commit(prepared.project_id, prepared.spans)
        if prepared.duplicates:
            for session_id, contents in prepared.contents:
                for span_id, records in contents.items():
                    self._store.merge_event_payload(session_id, span_id, records)
        roots = prepared.roots
        if prepared.rootless:
            now = self._store.get_sessions(prepared.project_id, prepared.rootless)
            roots = roots + [
                (session.id, session.root_span_id)
                for session in now.values()
                if session.root_span_id is not None
            ]
        self._store.finish_traces(prepared.agents, roots, prepared.inherited, prepared.fills)

    # --- logs ------------------------------------------------------------------------------
    async def ingest_logs(self, records: Sequence[LogRecord], project_id: str) -> None:
        await run_in_threadpool(self._logs, records, project_id)

    def _logs(self, records: Sequence[LogRecord], project_id: str) -> None:
        """Join GenAI content to its span's event now, or hold it for when the span comes (one
        row per span: a request of the trace takes the content of its own spans only)."""
        now = datetime.now(UTC)
        by_trace = contents_by_trace(records)
        rows = [
            row
            for trace_id, contents in by_trace.items()
            for row in content_rows(trace_id, project_id, contents, now)
        ]
        # the budget first, as if all of it had to wait: a 503 after some content was merged
        # into stored events would have the exporter send it, and merge it, again
        self._check_budget(rows, project_id)
        held: list[PendingOtlp] = []
        for trace_id, contents in by_trace.items():
            session: Session | None
            try:
                session = self._store.get_session(project_id, session_id_of(trace_id))
            except NotFound:  # not stored yet, or another project's: nothing is touched
                session = None
            for span_id, of_span in contents.items():
                if session is None or not self._store.merge_event_payload(
                    session.id, span_id, of_span
                ):
                    held += content_rows(trace_id, project_id, {span_id: of_span}, now)
        self._held.hold(held)  # joined now where its span was stored meanwhile

    # --- uploads of agentops 0.4 -------------------------------------------------------------
    def session_for_upload(self, trace_id: str, project_id: str) -> str:
        """The session of `trace_id`, created if its spans have not arrived yet (Conflict if it
        is another project's)."""
        session_id = session_id_of(trace_id)
        self._store.write_session(
            SessionWrite(id=session_id, project_id=project_id, init_timestamp=datetime.now(UTC)),
            create=True,
        )
        return session_id


def _read_traces(
    spans: Sequence[Span], project_id: str
) -> list[tuple[str, list[Item], Item | None, SessionWrite]]:
    """Per trace of a request: its spans read by their conventions, its root if present, and
    what the request says of its session."""
    traces = []
    for trace_id, trace_spans in group_by_trace(spans).items():
        items = [Item(span, read_span(span)) for span in trace_spans]
        root = find_root(items)
        traces.append((trace_id, items, root, session_write(trace_id, items, project_id, root)))
    return traces


def _tells_something_new(write: SessionWrite, stored: Session) -> bool:
    if write.root_span_id is not None and write.root_span_id != stored.root_span_id:
        return True
    if write.end_state is not None and (
        write.end_state,
        write.end_state_reason,
        write.end_timestamp,
        write.name,
    ) != (stored.end_state, stored.end_state_reason, stored.end_timestamp, stored.name):
        return True  # a root that is an event (it names no root_span_id) ends the session
    if (
        write.init_timestamp is not None
        and stored.root_span_id is None  # once the root came, its start is the session's
        and write.init_timestamp < stored.init_timestamp
    ):
        return True
    if write.tags and not set(write.tags) <= set(stored.tags):
        return True
    if write.host_env and not stored.host_env:
        return True
    current = stored.metadata or {}
    return bool(write.metadata) and any(
        current.get(key) != value for key, value in (write.metadata or {}).items()
    )


def _fill_contents(events: list[EventWrite], contents: Contents) -> None:
    for event in events:
        records = contents.get(event.id)
        if records:
            merge_content(event.payload, records)
