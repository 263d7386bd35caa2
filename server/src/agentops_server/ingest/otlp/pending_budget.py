"""The byte budgets of what waits in the store (pending_otlp): each project's for its GenAI log
content waiting for its spans, and one for all clients without a token (spans, uploads), so
one project's waiting logs never stop another's early exports."""

from __future__ import annotations

from collections.abc import Sequence

from agentops_server.storage.records import PendingOtlp, pending_size
from agentops_server.storage.store import Store


class PendingFull(Exception):
    """The store of token-less spans is at its byte limit: the client should retry later."""


class PendingBudget:
    def __init__(self, store: Store, limit: int) -> None:
        self._store = store
        self._limit = limit

    def check(self, rows: Sequence[PendingOtlp], project_id: str | None) -> None:
        """PendingFull if `rows` would not fit their owner's budget: `project_id`'s for its
        log content, None's for the clients without a token."""
        size = sum(pending_size(row.body) for row in rows)
        if rows and self._store.pending_bytes(project_id) + size > self._limit:
            raise PendingFull(
                "too much is waiting for its client's token; retry later"
                if project_id is None
                else "too much of this project's log content is waiting for its spans; retry later"
            )
