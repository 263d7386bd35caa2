"""Hands normalized events to the storage WriteBatcher and answers once they are committed.

The batcher coalesces concurrent requests into bounded transactions on the store's writer
threads (one on SQLite); a request is acknowledged only after its COMMIT, and close() drains
what was submitted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from starlette.concurrency import run_in_threadpool

from agentops_server.storage.batcher import BatchAppender, WriteBatcher, WriterClosed
from agentops_server.storage.records import AppendResult, EventWrite
from agentops_server.storage.store import Store

DRAIN_TIMEOUT_SECONDS = 60.0


class WriterUnavailable(Exception):
    """The writer takes no events now (starting or shutting down): the client should retry."""


class _OneByOne:
    """A store without batch appends: each submission in its own transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def append_event_batches(self, batches: Sequence[Sequence[EventWrite]]) -> list[AppendResult]:
        return [self._store.append_events(batch) for batch in batches]


class IngestWriter:
    def __init__(self, store: Store) -> None:
        if hasattr(store, "append_event_batches"):
            self._appender = cast(BatchAppender, store)
        else:
            self._appender = _OneByOne(store)
        self._writers = store.concurrent_writers
        self._batcher: WriteBatcher | None = None

    async def start(self) -> None:
        self._batcher = WriteBatcher(self._appender, writers=self._writers)

    async def append(self, events: Sequence[EventWrite]) -> AppendResult:
        if self._batcher is None:
            raise WriterUnavailable("the server is not accepting events yet (starting); retry")
        try:
            future = self._batcher.submit(events)
        except WriterClosed:
            raise WriterUnavailable("the server is shutting down; retry") from None
        return await asyncio.wrap_future(future)

    async def close(self) -> None:
        """Commit everything already submitted (bounded by a deadline)."""
        if self._batcher is not None:
            await run_in_threadpool(self._batcher.close, DRAIN_TIMEOUT_SECONDS)
