"""Per-project price overrides: read through a small cache, priced in exact Decimal.

An override is the project's own price for a model name (custom or fine-tuned models, negotiated
rates) in USD per million tokens. It wins over the genai-prices table, and an override on a name
also prices that name's dated snapshots (`gpt-4o-mini` prices `gpt-4o-mini-2024-07-18`) unless
the dated name has its own. Writes made through the Pricer invalidate its process's cache at
once; writes made by another process (another worker of `serve --workers N`, another replica,
the CLI) are seen after OVERRIDE_TTL_SECONDS.
"""

from __future__ import annotations

import math
import re
import threading
import time
from decimal import Decimal

from agentops_server.pricing.catalog import InvalidUsage
from agentops_server.storage.records import PriceOverride
from agentops_server.storage.store import Store

MTOK = Decimal(1_000_000)
OVERRIDE_TTL_SECONDS = 1.0
"""How long a process trusts the overrides it read: a change made by another process (another
worker, replica, the CLI) prices events within this time. Reading a project's overrides again
once a second costs nothing measurable; checking the database for every request would."""
_DATED = re.compile(r"(.+?)-(?:\d{4}-\d{2}-\d{2}|\d{8})")
"""A provider's dated snapshot of a model: gpt-4o-mini-2024-07-18, claude-3-5-sonnet-20241022."""


def normalize_model(model: str) -> str:
    """Overrides match model names case-insensitively, ignoring surrounding blanks."""
    return model.strip().lower()


def find_override(overrides: dict[str, PriceOverride], model: str) -> PriceOverride | None:
    """The override for `model` (normalized): its own, else its undated name's when it is a
    dated snapshot (the SDK records the model a response names, e.g. gpt-4o-mini-2024-07-18)."""
    found = overrides.get(model)
    if found is None and overrides:
        dated = _DATED.fullmatch(model)
        if dated is not None:
            found = overrides.get(dated.group(1))
    return found


def override_cost(
    override: PriceOverride,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
) -> Decimal:
    """USD for the usage at the override's prices. Input tokens include the cache tokens; a
    cache price left unset bills those tokens at the input price. Reasoning tokens are output."""
    cache_read = cache_read_tokens or 0
    cache_write = cache_write_tokens or 0
    if min(input_tokens, output_tokens, cache_read, cache_write) < 0:
        raise InvalidUsage("token counts cannot be negative")
    uncached = input_tokens - cache_read - cache_write
    if uncached < 0:
        raise InvalidUsage("cache tokens exceed input tokens")
    read_price = override.cache_read_per_mtok
    write_price = override.cache_write_per_mtok
    total = (
        uncached * override.input_per_mtok
        + cache_read * (override.input_per_mtok if read_price is None else read_price)
        + cache_write * (override.input_per_mtok if write_price is None else write_price)
        + output_tokens * override.output_per_mtok
    )
    return total / MTOK


class OverrideCache:
    """The overrides of each project, loaded from the store on first use and kept `ttl` s."""

    def __init__(self, store: Store | None, ttl: float = OVERRIDE_TTL_SECONDS) -> None:
        self._store = store
        self._ttl = ttl
        self._lock = threading.Lock()
        self._by_project: dict[str, tuple[float, dict[str, PriceOverride]]] = {}

    def get(self, project_id: str, model: str, *, load: bool = True) -> PriceOverride | None:
        """load=False: the entry in memory even if stale (loaded only if there is none)."""
        if self._store is None:
            return None
        entry = self._by_project.get(project_id)
        if entry is None or (load and time.monotonic() - entry[0] > self._ttl):
            entry = self._load(project_id)
        return find_override(entry[1], normalize_model(model))

    def fresh(self, project_id: str) -> bool:
        """Whether get() for this project answers from memory now (no store read)."""
        if self._store is None:
            return True
        entry = self._by_project.get(project_id)
        return entry is not None and time.monotonic() - entry[0] <= self._ttl

    def _load(self, project_id: str) -> tuple[float, dict[str, PriceOverride]]:
        assert self._store is not None
        loaded_at = time.monotonic()
        overrides = self._store.list_price_overrides(project_id)
        entry = (loaded_at, {normalize_model(o.model): o for o in overrides})
        with self._lock:
            self._by_project[project_id] = entry
        return entry

    def invalidate(self, project_id: str | None = None) -> None:
        """Make the next get() reload; the stale entry stays for get(load=False) meanwhile."""
        with self._lock:
            targets = list(self._by_project) if project_id is None else [project_id]
            for target in targets:
                entry = self._by_project.get(target)
                if entry is not None:
                    self._by_project[target] = (-math.inf, entry[1])
