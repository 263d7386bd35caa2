"""What waited for a trace (token-less spans and uploads, GenAI log content of its spans),
taken by a request of the project whose session the trace is, and held again, as it was, if
that request fails to store it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from agentops_server.ingest.otlp.assemble import Item, find_root, session_write
from agentops_server.ingest.otlp.conventions import read_span
from agentops_server.ingest.otlp.held_content import HeldContent
from agentops_server.ingest.otlp.log_content import Contents
from agentops_server.ingest.otlp.pending import (
    SPANS,
    UPLOAD,
    contents_from_json,
    merge_contents,
    spans_from_json,
    split_by_span,
)
from agentops_server.ingest.otlp.spans import Span
from agentops_server.storage.records import PendingOtlp, Session
from agentops_server.storage.store import Store

logger = logging.getLogger("agentops_server.otlp")


Claimed = list[PendingOtlp]
"""Held rows a request took (see TracePreparer.prepare)."""


@dataclass(slots=True)
class Trace:
    """One trace of a request, ready to assemble: its spans (with those that waited for it),
    its root if among them, its session, and GenAI log contents that came before its spans."""

    trace_id: str
    items: list[Item]
    root: Item | None
    session: Session
    contents: Contents = field(default_factory=dict)


class Claims:
    def __init__(self, store: Store, held: HeldContent) -> None:
        self._store = store
        self._held = held

    def take(
        self,
        trace_id: str,
        items: list[Item],
        root: Item | None,
        session: Session,
        project_id: str,
        claimed: Claimed | None,
    ) -> Trace:
        """The trace with what waited for it: token-less spans join its items, an uploaded log
        is stored with its session, log contents of its spans (the request's and the held
        ones) fill their events later; content for spans still to come waits on. With no
        items, what waits for the whole trace (token-less spans) and their content."""
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
            # the rest joins the spans stored already and is held for the others; until that
            # hold commits, a failure gives back the whole rows, then only the request's part:
            # never both, or the rest would be held (and counted in the budget) twice
            waiting = self._held.place(rest)
            if claimed is not None:
                for row in whole:
                    claimed.remove(row)
                claimed += mine
            self._held.settle(waiting)  # joined now where another request stored its span
            logs = mine + [row for row in logs if row.span_id is not None]
        for row in logs:
            merge_contents(contents, contents_from_json(row.body))
        if held:
            items = [Item(span, read_span(span)) for span in held] + items
            root = find_root(items)
            session = self._store.write_session(
                session_write(trace_id, items, project_id, root), create=True
            )
        return Trace(trace_id, items, root, session, contents)

    def give_back(self, claimed: Claimed) -> None:
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
