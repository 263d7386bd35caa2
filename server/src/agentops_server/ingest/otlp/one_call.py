"""One LLM call seen by several instrumentations (nested LLM spans of one request): how they
are recognised, and what the one event that keeps the call takes from the others, the inner
span's figures first, in any arrival order (docs/otel.md, "Tokens are counted once")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from agentops_server.ingest.otlp.conventions.facts import SpanFacts
from agentops_server.ingest.v2 import MAX_COST_USD, MAX_TOKENS
from agentops_server.pricing import Pricer
from agentops_server.storage.records import CostSource, Event, UsageFill

MAX_COST_NANOS = MAX_COST_USD * 10**9
_NANOS_PER_USD = Decimal(10**9)


@dataclass(slots=True)  # not frozen: built for every LLM span (see SpanFacts)
class CallUsage:
    """What prices a call: its token counts and a cost the instrumentation reported."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    reported_cost: Decimal | None = None

    def over(self, outer: CallUsage) -> CallUsage:
        """This span's figures, each missing one taken from `outer`, a span wrapping it."""
        return CallUsage(
            _first(self.input_tokens, outer.input_tokens),
            _first(self.output_tokens, outer.output_tokens),
            _first(self.cache_read_tokens, outer.cache_read_tokens),
            _first(self.cache_write_tokens, outer.cache_write_tokens),
            _first(self.reasoning_tokens, outer.reasoning_tokens),
            self.reported_cost if self.reported_cost is not None else outer.reported_cost,
        )

    def counts(self) -> tuple[int | None, ...]:
        """The token counts, in the order of UsageFill's."""
        return (
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
        )


def count(value: int | None) -> int | None:
    return value if value is not None and 0 <= value <= MAX_TOKENS else None


def usage_of(facts: SpanFacts) -> CallUsage:
    """The span's figures; a count or reported cost out of range is unknown (None)."""
    cost = facts.reported_cost
    return CallUsage(
        count(facts.input_tokens),
        count(facts.output_tokens),
        count(facts.cache_read_tokens),
        count(facts.cache_write_tokens),
        count(facts.reasoning_tokens),
        cost if cost is not None and 0 <= cost <= MAX_COST_USD else None,
    )


def price_call(
    pricer: Pricer,
    project_id: str,
    model: str | None,
    provider: str | None,
    usage: CallUsage,
    at: datetime,
) -> tuple[int | None, CostSource]:
    """The call's cost and where it came from; a cost over the limit per event is unknown."""
    price = pricer.price_counts(
        project_id,
        model,
        provider,
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
        usage.reported_cost,
        at=at,
    )
    if price.cost_nanos is not None and price.cost_nanos > MAX_COST_NANOS:
        return None, CostSource.UNKNOWN_TOKENS
    return price.cost_nanos, price.source


def fill_for(
    stored: Event, other: CallUsage, other_is_inner: bool, pricer: Pricer, project_id: str
) -> UsageFill | None:
    """What a span of the call stored as `stored` gives it, None if nothing: `other` is that
    span's usage, and whether it is the inner one decides whose figures come first."""
    reported = None
    if stored.cost_source == CostSource.REPORTED and stored.cost_nanos is not None:
        reported = Decimal(stored.cost_nanos) / _NANOS_PER_USD
    mine = CallUsage(
        stored.prompt_tokens,
        stored.completion_tokens,
        stored.cache_read_tokens,
        stored.cache_write_tokens,
        stored.reasoning_tokens,
        reported,
    )
    merged = other.over(mine) if other_is_inner else mine.over(other)
    if merged == mine or stored.event_type != "llms":
        return None
    cost, source = price_call(
        pricer, project_id, stored.model, stored.provider, merged, stored.init_timestamp
    )
    return UsageFill(
        session_id=stored.session_id,
        event_id=stored.id,
        model=stored.model,
        before=(*mine.counts(), stored.cost_nanos),
        after=(*merged.counts(), cost),
        cost_source=source,
    )


def same_call(outer: SpanFacts, inner: SpanFacts) -> bool:
    if outer.response_id is not None and outer.response_id == inner.response_id:
        return True
    failure = None if inner.error is None else (inner.error.type, inner.error.message)
    if same_failure(outer, inner.model, failure):
        return True
    return same_usage(outer, inner.model, inner.input_tokens, inner.output_tokens)


def same_failure(
    outer: SpanFacts, model: str | None, failure: tuple[object, object] | None
) -> bool:
    """A call that failed, without tokens or response id to compare: the same exception (type
    and message) and the same model, where both name one."""
    if outer.error is None or failure != (outer.error.type, outer.error.message):
        return False
    return outer.model is None or model is None or outer.model == model


def same_usage(
    outer: SpanFacts, model: str | None, input_tokens: int | None, output_tokens: int | None
) -> bool:
    """Same token counts (and the same model, where both name one): one call seen twice."""
    if outer.input_tokens is None:
        return False
    # counts as stored: none past MAX_TOKENS, and an embedding's missing output is 0
    if (count(outer.input_tokens), count(outer.output_tokens) or 0) != (
        count(input_tokens),
        count(output_tokens) or 0,
    ):
        return False
    return outer.model is None or model is None or outer.model == model


def same_stored_call(span: SpanFacts, stored: Event) -> bool:
    """`same_call` of a span of this batch and a stored LLM event, either one the outer."""
    response_id = stored.payload.get("response_id")
    if span.response_id is not None and span.response_id == response_id:
        return True
    failed = stored.payload.get("error")
    if isinstance(failed, dict):
        if same_failure(span, stored.model, (failed.get("type"), failed.get("message"))):
            return True
    return same_usage(span, stored.model, stored.prompt_tokens, stored.completion_tokens)


def _first(value: int | None, otherwise: int | None) -> int | None:
    return value if value is not None else otherwise
