"""`agentops prices list|set|delete`: a project's price overrides, in USD per million tokens.

Writes go straight to the database; a running server sees them within 30 s (its override cache
lifetime), or at once when they are made through the REST API (PUT /v2/prices/{model}).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from agentops_server.config import ConfigError, ServerConfig
from agentops_server.pricing import Pricer
from agentops_server.storage.records import PriceOverride
from agentops_server.storage.store import NotFound, Store

database_options = [
    click.option("--data-dir", default=None, help="data directory (default ./agentops-data)"),
    click.option("--database-url", default=None, help="SQLAlchemy database URL"),
]


def with_database(func: Any) -> Any:
    for option in reversed(database_options):
        func = option(func)
    return func


@contextmanager
def opened_store(data_dir: str | None, database_url: str | None) -> Iterator[Store]:
    """The store of the configured database, migrated to the current schema."""
    from agentops_server.storage.migrate import upgrade
    from agentops_server.storage.sql_store import open_store

    try:
        config = ServerConfig.build(database_url=database_url, data_dir=data_dir)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if config.is_sqlite:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(config.database_url)
    store = open_store(config.database_url)
    try:
        yield store
    finally:
        store.close()


def resolve_project(store: Store, project: str | None) -> str:
    """--project, or the only project there is."""
    if project:
        try:
            return store.get_project(project).id
        except NotFound:
            raise click.UsageError(f"no project with id {project!r}") from None
    projects = store.list_projects()
    if len(projects) != 1:
        ids = ", ".join(p.id for p in projects) or "none"
        raise click.UsageError(f"--project is required ({len(projects)} projects: {ids})")
    return projects[0].id


class Money(click.ParamType[Decimal, Any]):
    name = "usd_per_mtok"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Decimal):
            return value
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not amount.is_finite() or amount < 0:
            self.fail(f"{value!r} must be a finite amount >= 0", param, ctx)
        return amount


MONEY = Money()


def _row(o: PriceOverride) -> dict[str, Any]:
    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "model": o.model,
        "input_per_mtok": money(o.input_per_mtok),
        "output_per_mtok": money(o.output_per_mtok),
        "cache_read_per_mtok": money(o.cache_read_per_mtok),
        "cache_write_per_mtok": money(o.cache_write_per_mtok),
    }


@click.group("prices")
def prices() -> None:
    """Per-project price overrides for custom or fine-tuned models (USD per million tokens)."""


@prices.command("list")
@click.option("--project", default=None, help="project id (default: the only project)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@with_database
def list_cmd(
    project: str | None, as_json: bool, data_dir: str | None, database_url: str | None
) -> None:
    """List the project's price overrides."""
    with opened_store(data_dir, database_url) as store:
        project_id = resolve_project(store, project)
        rows = [_row(o) for o in Pricer(store).list_overrides(project_id)]
    if as_json:
        click.echo(json.dumps({"project_id": project_id, "data": rows}, indent=2))
        return
    if not rows:
        click.echo("no price overrides: genai-prices' table prices every model")
        return
    click.echo(f"{'model':40} {'input':>10} {'output':>10} {'cache read':>11} {'cache write':>11}")
    for row in rows:
        cells = [row[k] or "-" for k in list(row)[1:]]
        click.echo(f"{row['model']:40} {cells[0]:>10} {cells[1]:>10} {cells[2]:>11} {cells[3]:>11}")


@prices.command("set")
@click.argument("model")
@click.option("--input", "input_price", type=MONEY, required=True, help="USD per 1M input tokens")
@click.option("--output", "output_price", type=MONEY, required=True, help="USD per 1M output")
@click.option("--cache-read", type=MONEY, default=None, help="USD per 1M cache-read tokens")
@click.option("--cache-write", type=MONEY, default=None, help="USD per 1M cache-write tokens")
@click.option("--project", default=None, help="project id (default: the only project)")
@with_database
def set_cmd(
    model: str,
    input_price: Decimal,
    output_price: Decimal,
    cache_read: Decimal | None,
    cache_write: Decimal | None,
    project: str | None,
    data_dir: str | None,
    database_url: str | None,
) -> None:
    """Set (or replace) the project's price for MODEL."""
    if not model.strip():
        raise click.UsageError("MODEL must not be empty")
    with opened_store(data_dir, database_url) as store:
        project_id = resolve_project(store, project)
        override = PriceOverride(
            project_id, model, input_price, output_price, cache_read, cache_write
        )
        stored = Pricer(store).set_override(override)
    click.echo(
        f"price override set for {stored.model!r}; run `agentops reprice` to re-price "
        "events already stored"
    )


@prices.command("delete")
@click.argument("model")
@click.option("--project", default=None, help="project id (default: the only project)")
@with_database
def delete_cmd(
    model: str, project: str | None, data_dir: str | None, database_url: str | None
) -> None:
    """Remove the project's price override for MODEL."""
    with opened_store(data_dir, database_url) as store:
        project_id = resolve_project(store, project)
        try:
            Pricer(store).delete_override(project_id, model)
        except NotFound:
            raise click.ClickException(f"no price override for {model!r}") from None
    click.echo(f"price override for {model!r} deleted")
