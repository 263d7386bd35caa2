"""UsageFills (ingest/otlp/one_call.py) applied in the caller's transaction, with the session's
statistics and per-model counts moved by the difference. A fill applies only to the event as it
was read, so two requests never count one change twice."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, bindparam, update

from agentops_server.storage import model_calls
from agentops_server.storage.appends import StatDelta, apply_stat_deltas
from agentops_server.storage.records import UsageFill
from agentops_server.storage.schema import MODEL_COUNTERS, TOKEN_COUNTS, events

FILLED_COLUMNS = (*TOKEN_COUNTS, "cost_nanos")  # the order of UsageFill.before and .after

_FILL = (
    update(events)
    .where(
        and_(
            events.c.session_id == bindparam("b_session_id"),
            events.c.id == bindparam("b_id"),
            events.c.event_type == "llms",
            *(
                events.c[name].is_not_distinct_from(bindparam(f"b_{name}"))
                for name in FILLED_COLUMNS
            ),
        )
    )
    .values(
        {name: bindparam(f"n_{name}") for name in FILLED_COLUMNS}
        | {"cost_source": bindparam("n_cost_source")}
    )
)
_MODEL_SUMS = {  # FILLED_COLUMNS that session_models sums too: their positions there
    i: MODEL_COUNTERS.index(name) for i, name in enumerate(FILLED_COLUMNS) if name in MODEL_COUNTERS
}
_FAILED = MODEL_COUNTERS.index("failed_calls")
_UNPRICED = MODEL_COUNTERS.index("unpriced_calls")


def fill_usage(conn: Connection, fills: Sequence[UsageFill]) -> int:
    """Apply each fill whose event is still as it was read; the number applied."""
    deltas: dict[str, StatDelta] = {}
    per_model: dict[tuple[str, str], list[int]] = {}
    applied = 0
    for fill in sorted(fills, key=lambda f: (f.session_id, f.event_id)):  # one lock order
        params: dict[str, object] = {"b_session_id": fill.session_id, "b_id": fill.event_id}
        for name, old, new in zip(FILLED_COLUMNS, fill.before, fill.after, strict=True):
            params[f"b_{name}"], params[f"n_{name}"] = old, new
        params["n_cost_source"] = fill.cost_source
        if conn.execute(_FILL, params).rowcount != 1:
            continue  # changed since it was read, or gone
        applied += 1
        moved = [(new or 0) - (old or 0) for old, new in zip(fill.before, fill.after, strict=True)]
        delta = deltas.setdefault(fill.session_id, StatDelta())
        for name, amount in zip(FILLED_COLUMNS, moved, strict=True):
            delta.add(name, amount)
        was_unknown, is_unknown = fill.before[-1] is None, fill.after[-1] is None
        delta.add("unknown_cost_events", is_unknown - was_unknown)
        counts = per_model.setdefault(
            (fill.session_id, fill.model or model_calls.NO_MODEL), [0] * len(MODEL_COUNTERS)
        )
        for i, position in _MODEL_SUMS.items():
            counts[position] += moved[i]
        # an unpriced call is "failed" without tokens, "unpriced" with (model_calls.add_calls)
        counts[_unknown_kind(fill.before)] -= was_unknown
        counts[_unknown_kind(fill.after)] += is_unknown
    apply_stat_deltas(conn, deltas)
    model_calls.add_counts(conn, conn.dialect.name, per_model)
    return applied


def _unknown_kind(figures: tuple[int | None, ...]) -> int:
    return _FAILED if (figures[0] or 0) + (figures[1] or 0) == 0 else _UNPRICED
