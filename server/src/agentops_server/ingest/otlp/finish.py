"""Finishing a request of spans: the updates its events make to what is stored, once they are
committed (late spans change what earlier ones said, and data may have come meanwhile)."""

from __future__ import annotations

from agentops_server.ingest.otlp.held_content import HeldContent
from agentops_server.ingest.otlp.prepare import Prepared
from agentops_server.storage.store import Store


def finish(store: Store, held: HeldContent, prepared: Prepared) -> None:
    """After the request's events are written: log content held for their spans meanwhile is
    joined (see held_content.py), held content that events stored already took is merged
    into them, agents go over their subtree, and a root's children move under the session,
    the roots including those that arrived while the request was prepared."""
    held.after_commit(prepared.project_id, prepared.spans)
    if prepared.duplicates:
        for session_id, contents in prepared.contents:
            for span_id, records in contents.items():
                store.merge_event_payload(session_id, span_id, records)
    roots = prepared.roots
    if prepared.rootless:
        now = store.get_sessions(prepared.project_id, prepared.rootless)
        roots = roots + [
            (session.id, session.root_span_id)
            for session in now.values()
            if session.root_span_id is not None
        ]
    store.finish_traces(prepared.agents, roots, prepared.inherited, prepared.fills)
