"""Ends sessions that will never end by themselves.

The agentops 0.3 client sends no end when its process just exits. Such a session shows as
Indeterminate; once it has been idle for the configured period, the sweeper gives it an end
time (its last event) and a reason saying that no end was received.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool

from agentops_server.storage.store import Store

logger = logging.getLogger("agentops_server.sweeper")


def no_end_reason(inactivity_seconds: int) -> str:
    return (
        f"No end received: no activity for {inactivity_seconds} s "
        "(process exited without end_session?)"
    )


def sweep_interval(inactivity_seconds: int) -> float:
    """How often to look: often enough that a session ends within ~25% of the period."""
    return max(0.05, min(60.0, inactivity_seconds / 4))


class Sweeper:
    """Runs store.close_inactive_sessions periodically on the event loop's thread pool."""

    def __init__(
        self,
        store: Store,
        inactivity_seconds: int,
        *,
        also: Callable[[], object] | None = None,
    ) -> None:
        """`also` runs after each sweep (e.g. expiring OTLP data held too long)."""
        self._store = store
        self._also = also
        self._inactivity = inactivity_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def sweep_once(self, now: datetime | None = None) -> int:
        idle_since = (now or datetime.now(UTC)) - timedelta(seconds=self._inactivity)
        closed = self._store.close_inactive_sessions(idle_since, no_end_reason(self._inactivity))
        if closed:
            logger.info("ended %d inactive session(s) with no end received", closed)
        if self._also is not None:
            self._also()
        return closed

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="session-sweeper")

    async def stop(self) -> None:
        """Wait for a sweep in progress, then stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        interval = sweep_interval(self._inactivity)
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
            except TimeoutError:
                pass
            if self._stopping.is_set():
                return
            try:
                await run_in_threadpool(self.sweep_once)
            except Exception:  # a database hiccup must not stop future sweeps
                logger.exception("sweeping inactive sessions failed; will retry")
