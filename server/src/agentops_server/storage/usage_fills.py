"""UsageFills (ingest/otlp/one_call.py) applied in the caller's transaction, with the session's
statistics and per-model counts moved by the difference. A fill applies only to the event as it
was read, so two requests never count one change twice."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, bindparam, update

from agentops_server.storage import model_calls
from agentops_server.storage.appends import StatDelta, apply_stat_deltas
from agentops_server.storage.records import UsageFill
from agentops_server.storage.schema import MODEL_COUNTERS, events

_FILLED = ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_nanos")
_FILL = (
    update(events)
    .where(
        and_(
            events.c.session_id == bindparam("b_session_id"),
            events.c.id == bindparam("b_id"),
            events.c.event_type == "llms",
            *(events.c[name].is_not_distinct_from(bindparam(f"b_{name}")) for name in _FILLED),
        )
    )
    .values(
        {name: bindparam(f"n_{name}") for name in _FILLED}
        | {"cost_source": bindparam("n_cost_source")}
    )
)
_FAILED, _UNPRICED, _COST = (
    MODEL_COUNTERS.index("failed_calls"),
    MODEL_COUNTERS.index("unpriced_calls"),
    MODEL_COUNTERS.index("cost_nanos"),
)


def fill_usage(conn: Connection, fills: Sequence[UsageFill]) -> int:
    """Apply each fill whose event is still as it was read; the number applied."""
    deltas: dict[str, StatDelta] = {}
    per_model: dict[tuple[str, str], list[int]] = {}
    applied = 0
    for fill in sorted(fills, key=lambda f: (f.session_id, f.event_id)):  # one lock order
        old_read, old_write, old_reasoning, old_cost = fill.before
        params = {
            "b_session_id": fill.session_id,
            "b_id": fill.event_id,
            **{f"b_{name}": value for name, value in zip(_FILLED, fill.before, strict=True)},
            "n_cache_read_tokens": fill.cache_read_tokens,
            "n_cache_write_tokens": fill.cache_write_tokens,
            "n_reasoning_tokens": fill.reasoning_tokens,
            "n_cost_nanos": fill.cost_nanos,
            "n_cost_source": fill.cost_source,
        }
        if conn.execute(_FILL, params).rowcount != 1:
            continue  # changed since it was read, or gone
        applied += 1
        delta = deltas.setdefault(fill.session_id, StatDelta())
        delta.add("cache_read_tokens", (fill.cache_read_tokens or 0) - (old_read or 0))
        delta.add("cache_write_tokens", (fill.cache_write_tokens or 0) - (old_write or 0))
        delta.add("reasoning_tokens", (fill.reasoning_tokens or 0) - (old_reasoning or 0))
        delta.add("cost_nanos", (fill.cost_nanos or 0) - (old_cost or 0))
        unknown = (fill.cost_nanos is None) - (old_cost is None)
        delta.add("unknown_cost_events", unknown)
        counts = per_model.setdefault(
            (fill.session_id, fill.model or model_calls.NO_MODEL), [0] * len(MODEL_COUNTERS)
        )
        counts[_FAILED if fill.tokens == 0 else _UNPRICED] += unknown
        counts[_COST] += (fill.cost_nanos or 0) - (old_cost or 0)
    apply_stat_deltas(conn, deltas)
    model_calls.add_counts(conn, conn.dialect.name, per_model)
    return applied
