"""Prices LLM events: a client-reported cost, else a project override, else genai-prices.

Token convention (the wire's, OpenAI's): prompt_tokens is ALL input tokens, including cache
reads and cache writes; completion_tokens includes reasoning tokens. An event whose tokens or
model are unknown gets cost None with an UNKNOWN_* source, never a silent $0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from agentops_server.pricing.catalog import Catalog, InvalidUsage, ModelMatch
from agentops_server.pricing.nanos import finite_usd_to_nanos
from agentops_server.pricing.overrides import (
    OVERRIDE_TTL_SECONDS,
    OverrideCache,
    normalize_model,
    override_cost,
)
from agentops_server.remembered import Remembered
from agentops_server.storage.records import CostSource, PriceOverride, usd_to_nanos
from agentops_server.storage.store import Store


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Price:
    cost_nanos: int | None  # None: unknown
    source: CostSource


_UNKNOWN_MODEL = Price(None, CostSource.UNKNOWN_MODEL)
_UNKNOWN_TOKENS = Price(None, CostSource.UNKNOWN_TOKENS)
_MAX_COMPUTED = 10_000
_COMPUTED: Remembered[int, Price] = Remembered(_MAX_COMPUTED)
"""Computed prices by amount: immutable, so one object serves every event of that cost."""


def _computed(nanos: int) -> Price:
    price = _COMPUTED.get(nanos)
    if price is None:
        price = _COMPUTED.keep(nanos, Price(nanos, CostSource.COMPUTED))
    return price


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """The effective per-million-token prices of a model for a project (for display)."""

    model: str
    source: CostSource  # OVERRIDE, COMPUTED (genai-prices) or UNKNOWN_MODEL
    provider: str | None = None
    matched_model: str | None = None
    input_per_mtok: Decimal | None = None
    output_per_mtok: Decimal | None = None
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None


class Pricer:
    """Prices one LLM event in a few µs. Thread-safe; the only I/O is loading a project's
    overrides from the store when its cache entry is missing or stale."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        catalog: Catalog | None = None,
        override_ttl: float = OVERRIDE_TTL_SECONDS,
    ) -> None:
        self._store = store
        self._catalog = catalog or Catalog()
        self._overrides = OverrideCache(store, ttl=override_ttl)

    def price(
        self,
        project_id: str,
        model: str | None,
        provider: str | None,
        usage: TokenUsage,
        reported_cost: Decimal | None = None,
        *,
        at: datetime | None = None,
        load_overrides: bool = True,
    ) -> Price:
        """`at` is when the call was made (prices change over time); default now.
        load_overrides=False (on the event loop, after needs_no_io()) never reads the store:
        the project's overrides in memory are used even if they just went stale."""
        return self.price_counts(
            project_id,
            model,
            provider,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cache_read_tokens,
            usage.cache_write_tokens,
            usage.reasoning_tokens,
            reported_cost,
            at=at,
            load_overrides=load_overrides,
        )

    def price_counts(
        self,
        project_id: str,
        model: str | None,
        provider: str | None,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        cache_read_tokens: int | None,
        cache_write_tokens: int | None,
        reasoning_tokens: int | None,
        reported_cost: Decimal | None = None,
        *,
        at: datetime | None = None,
        load_overrides: bool = True,
    ) -> Price:
        """`price` with the counts of a TokenUsage as they are, for the ingestion hot path
        (a TokenUsage per LLM span costs more than pricing it from the caches)."""
        if reported_cost is not None:
            return Price(usd_to_nanos(reported_cost), CostSource.REPORTED)
        if not model or not model.strip():
            return _UNKNOWN_MODEL
        if prompt_tokens is None or completion_tokens is None:
            return _UNKNOWN_TOKENS
        try:
            override = self._overrides.get(project_id, model, load=load_overrides)
            if override is not None:
                cost = override_cost(
                    override,
                    prompt_tokens,
                    completion_tokens,
                    cache_read_tokens,
                    cache_write_tokens,
                )
                return Price(usd_to_nanos(cost), CostSource.OVERRIDE)
            match = self._catalog.find(model, provider)
            if match is None:
                return _UNKNOWN_MODEL
            cost = self._catalog.cost(
                match,
                prompt_tokens,
                completion_tokens,
                cache_read_tokens,
                cache_write_tokens,
                reasoning_tokens,
                at=at,
            )
        except InvalidUsage:
            return _UNKNOWN_TOKENS
        return _computed(finite_usd_to_nanos(cost))

    def needs_no_io(self, project_id: str) -> bool:
        """Whether pricing this project's events reads nothing from the store now (its
        overrides are in memory): then it may run on the event loop."""
        return self._overrides.fresh(project_id)

    # --- overrides --------------------------------------------------------------------------
    def list_overrides(self, project_id: str) -> list[PriceOverride]:
        store = self._require_store()
        return sorted(store.list_price_overrides(project_id), key=lambda o: o.model)

    def set_override(self, override: PriceOverride) -> PriceOverride:
        """Store (insert or replace) a project's price for a model; effective immediately."""
        store = self._require_store()
        stored = replace(override, model=normalize_model(override.model))
        store.set_price_override(stored)
        self._overrides.invalidate(override.project_id)
        return stored

    def delete_override(self, project_id: str, model: str) -> None:
        """Remove an override (raises the store's NotFound if there is none)."""
        store = self._require_store()
        try:
            store.delete_price_override(project_id, normalize_model(model))
        finally:
            self._overrides.invalidate(project_id)

    def invalidate(self, project_id: str | None = None) -> None:
        """Forget cached overrides (e.g. after another process changed them)."""
        self._overrides.invalidate(project_id)

    def describe(self, project_id: str, model: str, provider: str | None = None) -> ModelPrices:
        """The prices that `price()` would use for this model in this project."""
        override = self._overrides.get(project_id, model)
        if override is not None:
            return ModelPrices(
                model=model,
                source=CostSource.OVERRIDE,
                matched_model=override.model,
                input_per_mtok=override.input_per_mtok,
                output_per_mtok=override.output_per_mtok,
                cache_read_per_mtok=override.cache_read_per_mtok,
                cache_write_per_mtok=override.cache_write_per_mtok,
            )
        match = self._catalog.find(model, provider) if model.strip() else None
        if match is None:
            return ModelPrices(model=model, source=CostSource.UNKNOWN_MODEL)
        return _table_prices(model, match)

    def _require_store(self) -> Store:
        if self._store is None:
            raise RuntimeError("this Pricer has no store: overrides need Pricer(store=...)")
        return self._store


def _table_prices(model: str, match: ModelMatch) -> ModelPrices:
    prices = match.model.get_prices(datetime.now().astimezone())

    def flat(name: str) -> Decimal | None:
        value = getattr(prices, name, None)
        if isinstance(value, Decimal):
            return value
        base = getattr(value, "base", None)  # tiered: the base (lowest) tier
        return base if isinstance(base, Decimal) else None

    return ModelPrices(
        model=model,
        source=CostSource.COMPUTED,
        provider=match.provider.id,
        matched_model=match.model.id,
        input_per_mtok=flat("input_mtok"),
        output_per_mtok=flat("output_mtok"),
        cache_read_per_mtok=flat("cache_read_mtok"),
        cache_write_per_mtok=flat("cache_write_mtok"),
    )
