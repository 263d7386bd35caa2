"""`agentops reprice`: recompute stored LLM costs with today's prices and overrides.

Each LLM event is priced again from its model, provider, tokens and time (a client-reported
cost is kept); changed costs are written in batches, and each session's totals move by the
difference in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from agentops_server.cli.options import (
    build_config,
    database_options,
    opened_store,
    resolve_project,
)
from agentops_server.pricing import Pricer, TokenUsage
from agentops_server.storage.records import CostSource
from agentops_server.storage.store import Store

BATCH = 500


def _repriced(
    store: Store, pricer: Pricer, project_id: str
) -> Iterator[tuple[str, str, int | None, str] | None]:
    """Each LLM event of the project, with its new cost when that differs from the stored one."""
    for event in store.iter_llm_events(project_id):
        if event.cost_source == CostSource.REPORTED.value:
            yield None
            continue
        usage = TokenUsage(
            event.prompt_tokens,
            event.completion_tokens,
            event.cache_read_tokens,
            event.cache_write_tokens,
            event.reasoning_tokens,
        )
        price = pricer.price(
            project_id, event.model, event.provider, usage, at=event.init_timestamp
        )
        if price.cost_nanos == event.cost_nanos and price.source.value == event.cost_source:
            yield None
        else:
            yield (event.session_id, event.id, price.cost_nanos, price.source.value)


@click.command("reprice")
@click.option("--project", help="Project id or name (default: every project).")
@database_options
def reprice(project: str | None, database_url: str | None, data_dir: Path | None) -> None:
    """Recompute the cost of every stored LLM event (after a price or override change), of
    one project or, without --project, of every project."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        if project:
            project_ids = [resolve_project(store, project).id]
        else:
            project_ids = [p.id for p in store.list_projects()]
        total = sum(store.count_llm_events(pid) for pid in project_ids)
        pricer = Pricer(store)
        changed = unknown = 0
        pending: list[tuple[str, str, int | None, str]] = []
        with click.progressbar(length=total, label="Re-pricing LLM events") as bar:
            for project_id in project_ids:
                for change in _repriced(store, pricer, project_id):
                    bar.update(1)
                    if change is None:
                        continue
                    pending.append(change)
                    changed += 1
                    unknown += change[2] is None
                    if len(pending) >= BATCH:
                        store.set_event_costs(pending)
                        pending = []
            if pending:
                store.set_event_costs(pending)
    click.echo(f"{total} LLM events checked, {changed} re-priced ({unknown} now of unknown cost)")
