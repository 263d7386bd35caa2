"""`agentops projects budget`: show or set a project's daily and monthly cost limits."""

from __future__ import annotations

from pathlib import Path

import click

from agentops_server.budgets import BadLimit, parse_limit, read_status, status_json, usd_text
from agentops_server.cli.options import (
    build_config,
    database_options,
    echo_json,
    opened_store,
    project_option,
    resolve_project,
)
from agentops_server.cli.terminal import visible

CLEARED = frozenset({"none", "off"})


def _limit(option: str, value: str | None, current: int | None) -> int | None:
    """The new limit in nano-USD from an option's text: unchanged when not given."""
    if value is None:
        return current
    if value.strip().lower() in CLEARED:
        return None
    try:
        parsed = parse_limit(option, value)
    except BadLimit as exc:
        raise click.BadParameter(f"{exc} (or `none` to clear it)", param_hint=option) from None
    if parsed is None:
        raise click.BadParameter("give an amount of USD, or `none` to clear it", param_hint=option)
    return parsed


@click.command("budget")
@project_option
@click.option("--daily", metavar="USD", help="Cost limit per UTC day; `none` clears it.")
@click.option("--monthly", metavar="USD", help="Cost limit per UTC month; `none` clears it.")
@click.option("--clear", is_flag=True, help="Clear both limits.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_options
def budget(
    project: str | None,
    daily: str | None,
    monthly: str | None,
    clear: bool,
    as_json: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Show a project's cost limits and its spend today and this month (UTC), or set them.

    While a limit is reached, the server's ingest answers say so: our SDK then refuses LLM
    calls with agentops.BudgetExceeded; agentops 0.3 clients ignore the signal (only warned).
    """
    if clear and (daily is not None or monthly is not None):
        raise click.UsageError(
            "--clear clears both limits: do not combine it with --daily/--monthly"
        )
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        chosen = resolve_project(store, project)
        if clear or daily is not None or monthly is not None:
            current = store.get_budget(chosen.id)
            new_daily = None if clear else _limit("--daily", daily, current.daily_limit_nanos)
            new_monthly = (
                None if clear else _limit("--monthly", monthly, current.monthly_limit_nanos)
            )
            store.set_budget(chosen.id, new_daily, new_monthly)
        status = read_status(store, chosen.id)
    shown = status_json(status)
    if as_json:
        echo_json({"project_id": chosen.id, **shown})
        return
    click.echo(visible(f'Budget of project "{chosen.name}":'))
    spend, limits = status.spend, status.budget
    for period, spent, limit in (
        (f"today ({status.day} UTC)", spend.day_nanos, limits.daily_limit_nanos),
        (f"this month ({status.day:%Y-%m} UTC)", spend.month_nanos, limits.monthly_limit_nanos),
    ):
        cap = "no limit" if limit is None else f"limit {usd_text(limit)}"
        click.echo(f"  {period}: {usd_text(spent)} spent, {cap}")
    if status.message:
        click.echo(f"Reached: {status.message}.")
    click.echo(
        "Servers see a change within AGENTOPS_BUDGET_CHECK_SECONDS (default 5 s). "
        "agentops 0.3 clients are only warned, never stopped."
    )
