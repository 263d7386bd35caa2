"""`agentops prices list|set|delete`: a project's price overrides, in USD per million tokens.

Writes go straight to the database; a running server prices with them within a second (its
override cache lifetime, OVERRIDE_TTL_SECONDS).
"""

from __future__ import annotations

import shlex
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from agentops_server.cli.options import (
    build_config,
    database_flags,
    database_options,
    echo_json,
    invocation,
    opened_store,
    project_option,
    resolve_project,
)
from agentops_server.cli.terminal import visible
from agentops_server.pricing import Pricer
from agentops_server.storage.records import PriceOverride
from agentops_server.storage.store import NotFound

MAX_PRICE_PER_MTOK = 1_000_000


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
        if amount > MAX_PRICE_PER_MTOK:  # as PUT /v2/prices
            self.fail(
                f"{value!r} is more than {MAX_PRICE_PER_MTOK:,} USD per million tokens", param, ctx
            )
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@project_option
@database_options
def list_cmd(
    as_json: bool, project: str | None, database_url: str | None, data_dir: Path | None
) -> None:
    """List the project's price overrides."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        project_id = resolve_project(store, project).id
        rows = [_row(o) for o in Pricer(store).list_overrides(project_id)]
    if as_json:
        echo_json({"project_id": project_id, "data": rows})
        return
    if not rows:
        click.echo("no price overrides: genai-prices' table prices every model")
        return
    click.echo(f"{'model':40} {'input':>10} {'output':>10} {'cache read':>11} {'cache write':>11}")
    for row in rows:
        cells = [row[k] or "-" for k in list(row)[1:]]
        model = visible(row["model"])
        click.echo(f"{model:40} {cells[0]:>10} {cells[1]:>10} {cells[2]:>11} {cells[3]:>11}")


@prices.command("set")
@click.argument("model")
@click.option("--input", "input_price", type=MONEY, required=True, help="USD per 1M input tokens")
@click.option(
    "--output", "output_price", type=MONEY, required=True, help="USD per 1M output tokens"
)
@click.option("--cache-read", type=MONEY, default=None, help="USD per 1M cache-read tokens")
@click.option("--cache-write", type=MONEY, default=None, help="USD per 1M cache-write tokens")
@project_option
@database_options
def set_cmd(
    model: str,
    input_price: Decimal,
    output_price: Decimal,
    cache_read: Decimal | None,
    cache_write: Decimal | None,
    project: str | None,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Set (or replace) the project's price for MODEL."""
    if not model.strip():
        raise click.BadParameter("must not be empty", param_hint="MODEL")
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        project_id = resolve_project(store, project).id
        override = PriceOverride(
            project_id, model, input_price, output_price, cache_read, cache_write
        )
        stored = Pricer(store).set_override(override)
    click.echo(
        f"price override set for {stored.model!r}; run `{invocation()} reprice "
        f"--project {shlex.quote(project_id)}{database_flags(config)}` to re-price events "
        "already stored"
    )


@prices.command("delete")
@click.argument("model")
@project_option
@database_options
def delete_cmd(
    model: str, project: str | None, database_url: str | None, data_dir: Path | None
) -> None:
    """Remove the project's price override for MODEL."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        project_id = resolve_project(store, project).id
        try:
            Pricer(store).delete_override(project_id, model)
        except NotFound:
            raise click.ClickException(f"no price override for {model!r}") from None
    click.echo(f"price override for {model!r} deleted")
