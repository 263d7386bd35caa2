"""Price overrides and re-pricing: set_event_costs adjusts session stats by the difference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, select, tuple_, update

from agentops_server.storage.appends import StatDelta, apply_stat_deltas, insert_ignore
from agentops_server.storage.records import PriceOverride
from agentops_server.storage.rows import to_price_override
from agentops_server.storage.schema import events, price_overrides, sessions
from agentops_server.storage.store import NotFound

KEYS_PER_STATEMENT = 500


def set_price_override(conn: Connection, dialect: str, override: PriceOverride) -> None:
    values = {
        "project_id": override.project_id,
        "model": override.model,
        "input_per_mtok": override.input_per_mtok,
        "output_per_mtok": override.output_per_mtok,
        "cache_read_per_mtok": override.cache_read_per_mtok,
        "cache_write_per_mtok": override.cache_write_per_mtok,
    }
    stmt = insert_ignore(dialect, price_overrides).values(values)
    changed = {k: stmt.excluded[k] for k in values if k not in ("project_id", "model")}
    conn.execute(stmt.on_conflict_do_update(index_elements=["project_id", "model"], set_=changed))


def delete_price_override(conn: Connection, project_id: str, model: str) -> None:
    stmt = delete(price_overrides).where(
        price_overrides.c.project_id == project_id, price_overrides.c.model == model
    )
    if conn.execute(stmt).rowcount == 0:
        raise NotFound(f"no price override for {model!r} in project {project_id}")


def list_price_overrides(conn: Connection, project_id: str | None) -> list[PriceOverride]:
    query = select(price_overrides).order_by(price_overrides.c.project_id, price_overrides.c.model)
    if project_id is not None:
        query = query.where(price_overrides.c.project_id == project_id)
    return [to_price_override(r) for r in conn.execute(query).mappings()]


def llm_events_query(project_id: str | None) -> Select[Any]:
    """LLM events in insertion order (keyset on seq), of one project or all."""
    query = select(events).where(events.c.event_type == "llms")
    if project_id is not None:
        query = query.where(
            events.c.session_id.in_(
                select(sessions.c.id).where(sessions.c.project_id == project_id)
            )
        )
    return query.order_by(events.c.seq)


def count_llm_events(conn: Connection, project_id: str | None) -> int:
    counted = llm_events_query(project_id).order_by(None).with_only_columns(func.count())
    return int(conn.execute(counted).scalar_one())


def set_event_costs(conn: Connection, costs: Sequence[tuple[str, str, int | None, str]]) -> None:
    """Store new costs and move each session's cost and unknown-cost totals by the change."""
    latest = {(s, e): (cost, source) for s, e, cost, source in costs}
    keys = sorted(latest)
    deltas: dict[str, StatDelta] = {}
    changes: list[dict[str, Any]] = []
    for start in range(0, len(keys), KEYS_PER_STATEMENT):
        chunk = keys[start : start + KEYS_PER_STATEMENT]
        query = (
            select(events.c.session_id, events.c.id, events.c.event_type, events.c.cost_nanos)
            .where(tuple_(events.c.session_id, events.c.id).in_(chunk))
            .order_by(events.c.session_id, events.c.id)
            .with_for_update()
        )
        for session_id, event_id, event_type, old in conn.execute(query):
            new, source = latest[(session_id, event_id)]
            delta = deltas.setdefault(session_id, StatDelta())
            delta.add("cost_nanos", (new or 0) - (old or 0))
            if event_type == "llms":
                delta.add("unknown_cost_events", int(new is None) - int(old is None))
            changes.append(
                {"k_session": session_id, "k_id": event_id, "v_cost": new, "v_source": source}
            )
    if changes:
        conn.execute(
            update(events)
            .where(events.c.session_id == bindparam("k_session"), events.c.id == bindparam("k_id"))
            .values(cost_nanos=bindparam("v_cost"), cost_source=bindparam("v_source")),
            changes,
        )
    apply_stat_deltas(conn, {s: d for s, d in deltas.items() if d.counters})
