"""Trace preparation: a request's spans (or what waited for its traces) become the events to
write and the updates they make. Per trace: write the session (which proves the trace is this
project's: a trace of another project is rejected, its data untouched), take what waited for
the trace (token-less spans, log contents), look up what the batch cannot see, build the
events. Writing them and the updates after are the caller's (see finish.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

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
from agentops_server.ingest.otlp.claim import Claimed, Claims, Trace
from agentops_server.ingest.otlp.conventions import read_span
from agentops_server.ingest.otlp.log_content import Contents
from agentops_server.ingest.otlp.spans import Span
from agentops_server.pricing import Pricer
from agentops_server.storage.payload_content import merge_content
from agentops_server.storage.records import EventWrite, Session, SessionWrite, UsageFill
from agentops_server.storage.store import Store


@dataclass(slots=True)
class Outcome:
    """What a request of spans did: how many it held, how many were refused and why."""

    spans: int = 0
    rejected: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Prepared:
    outcome: Outcome
    project_id: str
    events: list[EventWrite] = field(default_factory=list)
    agents: list[tuple[str, str, str]] = field(default_factory=list)  # session, agent, name
    inherited: list[tuple[str, str, str]] = field(default_factory=list)  # session, event, agent
    rootless: list[str] = field(default_factory=list)
    """Sessions whose events were built while their root was unknown: if the root arrives
    meanwhile, its request may move the children under the session before these are written,
    so after the write they are moved too (see finish.py)."""
    roots: list[tuple[str, str]] = field(default_factory=list)  # session, root span id
    fills: list[UsageFill] = field(default_factory=list)  # token kinds of stored LLM calls
    spans: dict[str, set[str]] = field(default_factory=dict)  # trace: its spans' events
    contents: list[tuple[str, Contents]] = field(default_factory=list)
    """Per trace, the held log contents the events took before they were written."""
    duplicates: int = 0
    """Events the write skipped as stored already (by an exporter's retry, say): held content
    they took is merged into the stored ones (see finish.py)."""

    def needs_finish(self) -> bool:
        return bool(
            self.agents or self.roots or self.inherited or self.rootless or self.fills or self.spans
        )


class TracePreparer:
    def __init__(
        self,
        store: Store,
        pricer: Pricer,
        claims: Claims,
        cpu: AbstractContextManager[object],
    ) -> None:
        self._store = store
        self._pricer = pricer
        self._claims = claims
        self._cpu = cpu  # Python work of requests one at a time (see OtlpIngest)

    def prepare(
        self, spans: Sequence[Span], project_id: str, claimed: Claimed | None = None
    ) -> Prepared:
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
        prepared = Prepared(Outcome(spans=len(spans)), project_id)
        with self._cpu:
            mine: list[Trace] = []
            for trace_id, items, root, write in traces:
                session = sessions.get(write.id)
                if session is None:
                    prepared.outcome.rejected += len(items)
                    prepared.outcome.messages.append(
                        f"trace {trace_id} belongs to another project: its spans were not stored"
                    )
                elif trace_id in waiting:
                    held = self._claims.take(trace_id, items, root, session, project_id, claimed)
                    mine.append(held)
                else:
                    mine.append(Trace(trace_id, items, root, session))
            self._build(prepared, mine)
        return prepared

    def prepare_held(
        self, trace_ids: Sequence[str], project_id: str, claimed: Claimed | None = None
    ) -> Prepared:
        """What waits for these traces of `project_id`'s sessions (token-less spans and
        uploads, the project's log content for them), prepared as a request of the project
        naming the traces with no spans of its own would have it (see OtlpIngest.hold)."""
        sessions = self._store.get_sessions(project_id, [session_id_of(t) for t in trace_ids])
        prepared = Prepared(Outcome(), project_id)
        with self._cpu:
            mine: list[Trace] = []
            for trace_id in trace_ids:
                session = sessions.get(session_id_of(trace_id))
                if session is not None:
                    held = self._claims.take(trace_id, [], None, session, project_id, claimed)
                    if held.items:
                        mine.append(held)
            self._build(prepared, mine)
        return prepared

    def _build(self, prepared: Prepared, traces: list[Trace]) -> None:
        stored = self._stored(traces)
        for trace in traces:
            self._assemble(prepared, trace, stored.get(trace.session.id, Stored()))

    def _stored(self, traces: list[Trace]) -> dict[str, Stored]:
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

    def _assemble(self, prepared: Prepared, trace: Trace, stored: Stored) -> None:
        session, root = trace.session, trace.root
        built = Assembler(session, trace.items, root, stored, self._pricer).build()
        if trace.contents:
            _fill_contents(built.events, trace.contents)
            prepared.contents.append((trace.trace_id, trace.contents))
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
