"""Whether an API key is still active, cached for a few seconds.

Every create_events, update_session and create_agent checks the key id in its session token
(and the key in X-Agentops-Api-Key, which the 0.3 client sends along, by its hash). Asking the
database each time would add a query to the hottest path, so each process keeps the answer per
key id (or hash) for `ttl` seconds (AGENTOPS_KEY_CHECK_SECONDS, default 5): a revocation
made by the CLI, the dashboard or another replica reaches every process within that time.
Concurrent checks of one stale key share one lookup, and at most `max_entries` ids are kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

from starlette.concurrency import run_in_threadpool

from agentops_server.storage.records import ApiKey

MAX_ENTRIES: Final = 10_000

GetKey = Callable[[str], ApiKey | None]
"""Loads an API key by id or by hash (revoked keys too), or None when there is no such key."""


class KeyStatusCache:
    """`await is_active(key_id)`: True while the key exists and is not revoked; `await
    active_key(ref)`: the key itself while it is active, else None (`ref` is what get_key takes).
    """

    def __init__(
        self,
        get_key: GetKey,
        ttl: float,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._get_key = get_key
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._checked: dict[str, tuple[float, ApiKey | None]] = {}  # ref -> (when, active key)
        self._pending: dict[str, asyncio.Future[ApiKey | None]] = {}

    def __len__(self) -> int:
        return len(self._checked)

    async def is_active(self, key_id: str) -> bool:
        return await self.active_key(key_id) is not None

    async def active_key(self, ref: str) -> ApiKey | None:
        found = self._checked.get(ref)
        if found is not None and self._clock() - found[0] < self._ttl:
            return found[1]
        pending = self._pending.get(ref)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(ref))
            self._pending[ref] = pending
        # shield: one cancelled request must not cancel the lookup others wait for
        return await asyncio.shield(pending)

    async def _lookup(self, ref: str) -> ApiKey | None:
        try:
            started = self._clock()
            key = await run_in_threadpool(self._get_key, ref)
            active = key if key is not None and key.revoked_at is None else None
            self._remember(ref, started, active)
            return active
        finally:
            self._pending.pop(ref, None)

    def _remember(self, key_id: str, checked_at: float, active: ApiKey | None) -> None:
        """Newest last, so the oldest answer is evicted first when the cache is full."""
        self._checked.pop(key_id, None)
        self._checked[key_id] = (checked_at, active)
        while len(self._checked) > self._max_entries:
            del self._checked[next(iter(self._checked))]
