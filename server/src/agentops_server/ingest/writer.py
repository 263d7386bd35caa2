"""Hands normalized events to the storage WriteBatcher and answers once they are committed.

The batcher coalesces concurrent requests into bounded transactions on the store's writer
threads (one on SQLite); a request is acknowledged only after its COMMIT, and close() drains
what was submitted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TypeVar, cast

from starlette.concurrency import run_in_threadpool

from agentops_server.storage.batcher import BatchAppender, WriteBatcher, WriterClosed
from agentops_server.storage.records import AppendResult, EventWrite
from agentops_server.storage.store import Store

DRAIN_TIMEOUT_SECONDS = 60.0
T = TypeVar("T")


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

    @property
    def single(self) -> bool:
        """One writer thread (SQLite): it may as well do a request's whole work (run())."""
        return self._writers == 1

    async def append(self, events: Sequence[EventWrite]) -> AppendResult:
        return await self._await(lambda batcher: batcher.submit(events))

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` on the writer thread, in turn with the appends (see storage/batcher.py)."""
        return await self._await(lambda batcher: batcher.run(work))

    async def _await(self, queue: Callable[[WriteBatcher], Future[T]]) -> T:
        if self._batcher is None:
            raise WriterUnavailable("the server is not accepting events yet (starting); retry")
        try:
            future = queue(self._batcher)
        except WriterClosed:
            raise WriterUnavailable("the server is shutting down; retry") from None
        return await asyncio.wrap_future(future)

    async def close(self) -> None:
        """Commit everything already submitted (bounded by a deadline)."""
        if self._batcher is not None:
            await run_in_threadpool(self._batcher.close, DRAIN_TIMEOUT_SECONDS)
