"""Hands normalized events to storage and answers when they are committed."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from agentops_server.storage.records import AppendResult, EventWrite
from agentops_server.storage.store import Store


class IngestWriter:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def start(self) -> None:
        return None

    async def append(self, events: Sequence[EventWrite]) -> AppendResult:
        return await run_in_threadpool(self._store.append_events, events)

    async def close(self) -> None:
        return None
