"""Finishing a request of spans: the updates its events make to what is stored, once they are
committed (late spans change what earlier ones said, and data may have come meanwhile)."""

from __future__ import annotations

from datetime import UTC, datetime

from agentops_server.ingest.otlp.assemble import session_id_of
from agentops_server.ingest.otlp.held_content import HeldContent
from agentops_server.ingest.otlp.pending import content_rows
from agentops_server.ingest.otlp.prepare import Prepared
from agentops_server.storage.store import Store


def finish(store: Store, held: HeldContent, prepared: Prepared) -> None:
    """After the request's events are written: log content held for their spans meanwhile is
    joined (see held_content.py), held content that events stored already took is merged
    into them, agents go over their subtree, and a root's children move under the session,
    the roots including those that arrived while the request was prepared."""
    if prepared.duplicates:
        _merge_into_stored(store, held, prepared)
    held.after_commit(prepared.project_id, prepared.spans)
    roots = prepared.roots
    if prepared.rootless:
        now = store.get_sessions(prepared.project_id, prepared.rootless)
        roots = roots + [
            (session.id, session.root_span_id)
            for session in now.values()
            if session.root_span_id is not None
        ]
    store.finish_traces(prepared.agents, roots, prepared.inherited, prepared.fills)


def _merge_into_stored(store: Store, held: HeldContent, prepared: Prepared) -> None:
    """Held content taken by events the write skipped as stored already (an exporter's
    retry, say) goes into the stored ones. It was taken from the held rows: if merging
    fails, what is not merged yet is held again (merging is idempotent per log record), and
    the request fails, so the exporter's retry joins it."""
    for n, (trace_id, contents) in enumerate(prepared.contents):
        try:
            for span_id, records in contents.items():
                store.merge_event_payload(session_id_of(trace_id), span_id, records)
        except BaseException:
            now = datetime.now(UTC)
            held.give_back(
                [
                    row
                    for trace, of_trace in prepared.contents[n:]
                    for row in content_rows(trace, prepared.project_id, of_trace, now)
                ]
            )
            raise
