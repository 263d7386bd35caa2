"""GenAI log content held for its span (pending_otlp rows of one span each), never left held
once its span is stored: whoever holds content looks for its span after the hold commits, and
whoever stores spans looks for held content after the events commit.

A /v1/logs request and a /v1/traces request of one trace may run at once: PostgreSQL's writer
threads, `serve --workers N` on either engine, and on SQLite the logs request's worker thread
beside the writer thread that stores spans. Each side commits its write before its look, and
each look sees every commit that came before it began (a statement under READ COMMITTED, a
new SQLite read transaction). So if the logs request's look misses the span, the span's commit
came after that look began, hence after the content's hold: the span request's look, after
its commit, finds the content. Both may find it: each row goes to the one whose DELETE takes
it (join_content), and merging is idempotent per log record anyway. No lock is held across
requests, and a request whose spans have no content waiting pays one read in all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from functools import partial

from agentops_server.ingest.otlp.assemble import session_id_of
from agentops_server.ingest.otlp.log_content import Contents
from agentops_server.ingest.otlp.pending import (
    LOGS,
    contents_from_json,
    merge_contents,
    split_by_span,
)
from agentops_server.storage.records import PendingOtlp, TakenContent
from agentops_server.storage.store import Store

logger = logging.getLogger("agentops_server.otlp")


class HeldContent:
    def __init__(self, store: Store) -> None:
        self._store = store

    def hold(self, rows: Sequence[PendingOtlp]) -> None:
        """Hold `rows` (any kind), then join the log content among them whose span was stored
        meanwhile: a request storing it may have looked before the hold committed."""
        if rows:
            self._store.hold_pending(rows)
            self.settle(rows)

    def place(self, rows: Sequence[PendingOtlp]) -> list[PendingOtlp]:
        """Log content taken from the held rows and not held now (the rest of an earlier
        version's whole-trace row): merged into the events of its spans stored already, held
        for the others (returned, to settle once the caller has noted them held). One commit
        holds them, so a failure before it leaves nothing held and the caller gives back
        what it took, as it was."""
        stored = self._stored_spans_of(rows)
        waiting: list[PendingOtlp] = []
        for row in rows:
            span_id, key = row.span_id, (row.project_id or "", row.trace_id)
            if span_id is None or span_id not in stored.get(key, ()):
                waiting.append(row)
            elif not self._store.merge_event_payload(
                session_id_of(row.trace_id), span_id, contents_from_json(row.body)[span_id]
            ):
                waiting.append(row)  # gone since it was found (a deleted session)
        self._store.hold_pending(waiting)
        return waiting

    def settle(self, rows: Sequence[PendingOtlp]) -> None:
        """Join the log content among `rows`, held already, whose span is stored now."""
        for (project_id, trace_id), spans in sorted(self._stored_spans_of(rows).items()):
            self.join(project_id, trace_id, spans)

    def _stored_spans_of(self, rows: Sequence[PendingOtlp]) -> dict[tuple[str, str], set[str]]:
        """Per (project, trace), the spans of the log content among `rows` that are stored."""
        waiting: dict[tuple[str, str], set[str]] = {}  # (project, trace): spans
        for row in rows:
            if row.kind == LOGS and row.project_id is not None and row.span_id is not None:
                waiting.setdefault((row.project_id, row.trace_id), set()).add(row.span_id)
        found: dict[tuple[str, str], set[str]] = {}
        for project_id in sorted({project for project, _ in waiting}):
            traces = {trace: spans for (p, trace), spans in waiting.items() if p == project_id}
            for trace_id, spans in self._stored_spans(project_id, traces).items():
                found[(project_id, trace_id)] = spans
        return found

    def after_commit(self, project_id: str, stored: Mapping[str, set[str]]) -> None:
        """A request's events are committed, `stored` its spans per trace: join the content
        held for them since the request looked (or before, held for the whole trace)."""
        if not stored:
            return
        for trace_id, held in self._store.held_content(project_id, list(stored)).items():
            mine = stored[trace_id]
            wanted = mine if None in held else mine & {span for span in held if span}
            if wanted:
                self.join(project_id, trace_id, wanted)

    def join(self, project_id: str, trace_id: str, spans: set[str]) -> None:
        """Take the content held for these stored spans of the trace and merge it into their
        events. Content an earlier version held for the whole trace is split: what is for
        other spans is held again, each span's from when it came (and joined if stored).
        Taking, merging and holding again are one transaction: a failure (the request then
        fails, and the exporter's retry joins it) leaves the content held as it was."""
        again = self._store.join_content(
            trace_id, project_id, sorted(spans), session_id_of(trace_id), partial(_split, spans)
        )
        self.settle([row for row in again if row.span_id not in spans])

    def _stored_spans(
        self, project_id: str, traces: Mapping[str, Iterable[str]]
    ) -> dict[str, set[str]]:
        """Of these spans per trace, those stored as events of the trace's session, if that
        session is this project's."""
        sessions = self._store.get_sessions(project_id, [session_id_of(t) for t in traces])
        keys = [
            (session_id_of(trace_id), span_id)
            for trace_id, spans in traces.items()
            if session_id_of(trace_id) in sessions
            for span_id in spans
        ]
        trace_of = {session_id_of(trace_id): trace_id for trace_id in traces}
        found: dict[str, set[str]] = {}
        for event in self._store.events_in(keys) if keys else ():
            found.setdefault(trace_of[event.session_id], set()).add(event.id)
        return found

    def give_back(self, rows: list[PendingOtlp]) -> None:
        """Hold again rows taken by a request that failed (logged, not raised, if it cannot)."""
        try:
            self._store.hold_pending(rows)
        except Exception:
            logger.exception("could not hold again %d OTLP log content row(s): lost", len(rows))


def _split(spans: set[str], rows: list[PendingOtlp]) -> TakenContent:
    """Content taken for `spans`: their records by span (rows held for a whole trace split,
    the other spans' parts kept apart to hold again)."""
    whole = [row for row in rows if row.span_id is None]
    mine, rest = split_by_span(whole, spans)
    mine += [row for row in rows if row.span_id is not None]
    contents: Contents = {}
    for row in mine:
        merge_contents(contents, contents_from_json(row.body))
    return TakenContent(contents, mine, rest)
