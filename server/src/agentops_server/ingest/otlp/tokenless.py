"""Token-less spans and log uploads of the agentops 0.4 client, which exports before its
token arrives: held (pending_otlp rows of no project) until an authenticated request names
their trace, and only for traces with no session yet: the client's early exports come before
any authenticated one, and nobody without a key adds to a session that exists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from agentops_server.ingest.otlp.assemble import group_by_trace, session_id_of
from agentops_server.ingest.otlp.pending import SPANS, UPLOAD, spans_to_json
from agentops_server.ingest.otlp.pending_budget import PendingBudget
from agentops_server.ingest.otlp.prepare import Outcome
from agentops_server.ingest.otlp.spans import Span
from agentops_server.storage.records import PendingOtlp
from agentops_server.storage.store import Store


def is_agentops_client(spans: Sequence[Span]) -> bool:
    """Spans of the agentops 0.4 client, which exports before its token arrives (its resource
    always carries agentops.project.id, "temporary" until then)."""
    return bool(spans) and all("agentops.project.id" in span.resource for span in spans)


class TokenlessHold:
    def __init__(self, store: Store, budget: PendingBudget) -> None:
        self._store = store
        self._budget = budget

    def hold_spans(self, spans: Sequence[Span]) -> tuple[Outcome, list[str]]:
        """Hold the spans of the traces with no session (the others are rejected, each trace
        with its reason); also the traces held, to look at once the hold is committed."""
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
        self._hold(rows)
        return outcome, [row.trace_id for row in rows]

    def hold_upload(self, trace_id: str, text: str) -> bool:
        """Hold a log upload under the same rules and bounds as spans; False if the trace's
        session exists already."""
        if self._store.find_session_project(session_id_of(trace_id)) is not None:
            return False
        if text:  # an empty logfile has nothing to keep
            self._hold([PendingOtlp(trace_id, None, UPLOAD, text, datetime.now(UTC))])
        return True

    def owners(self, trace_ids: Sequence[str]) -> dict[str, list[str]]:
        """Of these traces, those whose session exists, by its project."""
        owners: dict[str, list[str]] = {}
        for trace_id in trace_ids:
            project_id = self._store.find_session_project(session_id_of(trace_id))
            if project_id is not None:
                owners.setdefault(project_id, []).append(trace_id)
        return owners

    def _hold(self, rows: list[PendingOtlp]) -> None:
        """Hold token-less `rows` within the budget of the clients without a token."""
        self._budget.check(rows, None)
        self._store.hold_pending(rows)
