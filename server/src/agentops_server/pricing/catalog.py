"""The genai-prices price table, looked up once per (provider, model) and priced in microseconds.

`genai_prices.calc_price` costs ~70 µs a call: it re-resolves and re-validates the model's prices
and re-decomposes the usage every time. `Catalog` caches the (provider, model) lookup (misses
too), the resolved and validated price list of each `ModelPrice`, and the usage-inference
outcome per set of reported token kinds, then runs the same Decimal arithmetic in the same
order, so its totals are identical to `calc_price`'s (tests/pricing/test_catalog.py checks every
model of the table). The total of each price and usage is remembered too: a pure function of
both, and most events of a project repeat a few models and often the same counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from genai_prices import Usage, data_snapshot
from genai_prices.decompose import is_descendant_or_self
from genai_prices.types import (
    ModelInfo,
    ModelPrice,
    Provider,
    TieredPrices,
    _collect_resolved_model_prices,
    calc_unit_price,
)
from genai_prices.units import UnitDef, _get_registry
from genai_prices.validation import validate_priced_units

from agentops_server.remembered import Remembered

# Usage keys we report (genai-prices names). Input and output include their sub-kinds.
INPUT = "input_tokens"
OUTPUT = "output_tokens"
CACHE_READ = "cache_read_tokens"
CACHE_WRITE = "cache_write_tokens"
REASONING = "output_reasoning_tokens"
# Distinct (provider, model) names remembered at most; clients choose model names, so the
# cache is bounded (cleared when full; refilling costs one table search per name).
MAX_REMEMBERED_NAMES = 20_000
# Distinct usages remembered per price (cleared when full): a total depends only on the price
# and the counts, and the same counts recur (retries, fixed prompts, small outputs).
MAX_REMEMBERED_USAGES = 4_096
# input, output, cache read, cache write, reasoning tokens
_Counts = tuple[int, int, int | None, int | None, int | None]


class InvalidUsage(ValueError):
    """The token counts contradict each other (e.g. more cached than input tokens)."""


@dataclass(frozen=True, slots=True)
class ModelMatch:
    """A model found in the price table."""

    provider: Provider
    model: ModelInfo

    @property
    def key(self) -> str:
        return f"{self.provider.id}:{self.model.id}"


@dataclass(slots=True)
class _Plan:
    """Everything about one ModelPrice that does not depend on the usage."""

    model_price: ModelPrice
    terms: tuple[tuple[str, Decimal | TieredPrices, int, bool], ...]  # key, price, per, tiered
    leaf_order: tuple[tuple[UnitDef, tuple[str, ...]], ...]  # unit, priced descendants' keys
    priced_keys: frozenset[str]
    has_requests: bool
    tiered: bool
    error: ValueError | None = None
    inferred: dict[frozenset[str], ValueError | None] = field(default_factory=dict)
    totals: Remembered[_Counts, Decimal] = field(
        default_factory=lambda: Remembered(MAX_REMEMBERED_USAGES)
    )  # what each usage cost


def _compile(model_price: ModelPrice) -> _Plan:
    registry = _get_registry()
    try:
        resolved = _collect_resolved_model_prices(model_price, registry)
        validate_priced_units(tuple(unit for unit, _ in resolved), registry)
    except ValueError as exc:
        return _Plan(model_price, (), (), frozenset(), False, False, error=exc)
    by_key = {unit.usage_key: unit for unit, _ in resolved if unit.usage_key != "requests"}
    ordered = sorted(by_key.values(), key=lambda unit: (-len(unit.dimensions), unit.usage_key))
    leaf_order = tuple(
        (
            unit,
            tuple(
                other.usage_key
                for other in ordered
                if other is not unit and is_descendant_or_self(unit, other)
            ),
        )
        for unit in ordered
    )
    return _Plan(
        model_price=model_price,
        terms=tuple(
            (unit.usage_key, price, unit.per, isinstance(price, TieredPrices))
            for unit, price in resolved
        ),
        leaf_order=leaf_order,
        priced_keys=frozenset(by_key),
        has_requests=any(unit.usage_key == "requests" for unit, _ in resolved),
        tiered=any(isinstance(price, TieredPrices) for _, price in resolved),
    )


def _inference_error(plan: _Plan, positive: frozenset[str], values: Mapping[str, int]) -> None:
    """genai-prices infers an unreported priced kind as 0, or refuses when it would be ambiguous;
    the outcome depends only on which kinds were reported non-zero, so it is cached per set."""
    if positive not in plan.inferred:
        missing = plan.priced_keys - values.keys()
        probe = Usage(**dict.fromkeys(positive, 1))
        outcome: ValueError | None = None
        for key in sorted(missing):
            try:
                getattr(probe, key)
            except ValueError as exc:
                outcome = exc
                break
        plan.inferred[positive] = outcome
    error = plan.inferred[positive]
    if error is not None:
        raise InvalidUsage(str(error))


def load_price_table() -> None:
    """Load genai-prices' table now: importing it takes about a second, which the first LLM
    event to be priced would otherwise wait (servers call this at start, before freezing what
    is loaded for the garbage collector)."""
    data_snapshot.get_snapshot()


class Catalog:
    """Fast, thread-safe (GIL-atomic dict caches) view of the genai-prices table."""

    def __init__(self) -> None:
        self._snapshot: Any = None
        self._matches: dict[tuple[str | None, str], ModelMatch | None] = {}
        self._plans: dict[int, _Plan] = {}

    def find(self, model: str, provider: str | None) -> ModelMatch | None:
        """The priced model for a model name and optional provider id, or None if unknown.

        A provider genai-prices does not know, or that does not list the model, falls back to
        inferring the provider from the model name (also from an "openai/gpt-4o" prefix).
        """
        snapshot = data_snapshot.get_snapshot()
        if snapshot is not self._snapshot:
            self._snapshot, self._matches, self._plans = snapshot, {}, {}
        key = (provider.strip().lower() if provider else None, model.strip())
        try:
            return self._matches[key]
        except KeyError:
            pass
        found = self._search(snapshot, key[1], key[0])
        if len(self._matches) >= MAX_REMEMBERED_NAMES:
            self._matches = {}
            for name in ("_provider_cache", "_provider_misses"):  # genai-prices' own, per name
                cache = getattr(snapshot, name, None)
                if cache is not None:
                    cache.clear()
        self._matches[key] = found
        return found

    @staticmethod
    def _search(snapshot: Any, model: str, provider: str | None) -> ModelMatch | None:
        attempts: list[tuple[str, str | None]] = []
        if provider:
            attempts.append((model, provider))
        attempts.append((model, None))
        if "/" in model:
            prefix, rest = model.split("/", 1)
            attempts.append((rest, prefix))
        for ref, prov in attempts:
            if not ref:
                continue
            try:
                found_provider, found_model = snapshot.find_provider_model(ref, None, prov, None)
            except LookupError:
                continue
            return ModelMatch(found_provider, found_model)
        return None

    def cost(
        self,
        match: ModelMatch,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        at: datetime | None = None,
    ) -> Decimal:
        """Total USD, equal to `calc_price(...).total_price`. Raises InvalidUsage."""
        when = at or datetime.now(tz=UTC)
        if match.provider.id != "groq":
            plan = self._plan(match.model.get_prices(when))
            counts = (
                input_tokens,
                output_tokens,
                cache_read_tokens,
                cache_write_tokens,
                reasoning_tokens,
            )
            total = plan.totals.get(counts)
            if total is None:
                total = plan.totals.keep(counts, self._total(plan, *counts))
            return total
        values = _usage_values(
            input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens
        )
        return self._slow_cost(match, values, when)  # genai-prices bills some groq models apart

    def _plan(self, model_price: ModelPrice) -> _Plan:
        plan = self._plans.get(id(model_price))
        if plan is None or plan.model_price is not model_price:
            plan = self._plans[id(model_price)] = _compile(model_price)
        return plan

    @staticmethod
    def _total(
        plan: _Plan,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int | None,
        cache_write_tokens: int | None,
        reasoning_tokens: int | None,
    ) -> Decimal:
        values = _usage_values(
            input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens
        )
        if plan.error is not None:
            raise InvalidUsage(str(plan.error))
        if not plan.priced_keys <= values.keys():
            positive = frozenset(key for key, value in values.items() if value > 0)
            _inference_error(plan, positive, values)
        leaves: dict[str, int] = {}
        for unit, descendants in plan.leaf_order:
            leaf = values.get(unit.usage_key, 0)
            for key in descendants:
                leaf -= leaves[key]
            if leaf < 0:
                raise InvalidUsage(f"more specific token counts exceed {unit.usage_key}")
            leaves[unit.usage_key] = leaf
        if plan.has_requests:
            leaves["requests"] = 1
        total_input = input_tokens if plan.tiered else 0
        total = Decimal(0)
        for key, price, per, tiered in plan.terms:
            if tiered:
                total += calc_unit_price(price, leaves[key], total_input, per)
            else:  # calc_unit_price's arithmetic for a flat price, inlined
                total += price * Decimal(leaves[key]) / per  # type: ignore[operator]
        return total

    @staticmethod
    def _slow_cost(match: ModelMatch, values: dict[str, int], when: datetime) -> Decimal:
        try:
            calc = match.model.calc_price(
                Usage(**values), match.provider, genai_request_timestamp=when
            )
        except ValueError as exc:
            raise InvalidUsage(str(exc)) from exc
        return calc.total_price


def _usage_values(
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int | None,
    cache_write_tokens: int | None,
    reasoning_tokens: int | None,
) -> dict[str, int]:
    """The reported counts under genai-prices' names. Raises InvalidUsage if one is negative."""
    values: dict[str, int] = {INPUT: input_tokens, OUTPUT: output_tokens}
    if cache_read_tokens is not None:
        values[CACHE_READ] = cache_read_tokens
    if cache_write_tokens is not None:
        values[CACHE_WRITE] = cache_write_tokens
    if reasoning_tokens is not None:
        values[REASONING] = reasoning_tokens
    if any(value < 0 for value in values.values()):
        raise InvalidUsage("token counts cannot be negative")
    return values
