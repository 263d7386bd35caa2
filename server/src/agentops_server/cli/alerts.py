"""`agentops alerts`: add, list and remove a project's alert rules, and show their history."""

from __future__ import annotations

from pathlib import Path

import click

from agentops_server.alerts.rules import KINDS, InvalidRule, parse_rule
from agentops_server.alerts.views import firing_json, rule_json
from agentops_server.cli.options import (
    build_config,
    database_options,
    echo_json,
    opened_store,
    project_option,
    resolve_project,
)
from agentops_server.cli.terminal import visible
from agentops_server.storage.store import NotFound

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def alerts() -> None:
    """Alert rules: a webhook is called once per occurrence (see docs/alerts.md)."""


@alerts.command("add")
@project_option
@click.option("--kind", required=True, type=click.Choice(KINDS), help="What the rule watches.")
@click.option(
    "--threshold",
    help="USD (session_cost, daily_cost), seconds (session_duration) or percent (error_rate).",
)
@click.option("--webhook", "webhook_url", required=True, help="http(s) URL to POST the alert to.")
@click.option("--window-minutes", type=int, help="error_rate: the window [default 60].")
@click.option("--min-sessions", type=int, help="error_rate: fewest ended sessions [default 5].")
@json_option
@database_options
def add(
    project: str | None,
    kind: str,
    threshold: str | None,
    webhook_url: str,
    window_minutes: int | None,
    min_sessions: int | None,
    as_json: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Add a rule to a project."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        chosen = resolve_project(store, project)
        try:
            write = parse_rule(
                chosen.id,
                kind,
                threshold,
                webhook_url.strip(),
                window_minutes=window_minutes,
                min_sessions=min_sessions,
            )
        except InvalidRule as exc:
            raise click.UsageError(str(exc)) from None
        rule = store.create_alert_rule(write)
    if as_json:
        echo_json(rule_json(rule))
        return
    shown = rule_json(rule)
    click.echo(visible(f'Added rule {rule.id} to project "{chosen.name}": {shown["description"]}'))
    click.echo(visible(f"Alerts go to {rule.webhook_url}"))


@alerts.command("list")
@project_option
@json_option
@database_options
def list_(
    project: str | None, as_json: bool, database_url: str | None, data_dir: Path | None
) -> None:
    """List a project's rules."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        chosen = resolve_project(store, project)
        found = store.list_alert_rules(chosen.id)
    if as_json:
        echo_json([rule_json(r) for r in found])
        return
    click.echo(visible(f'Alert rules of project "{chosen.name}":'))
    for rule in found:
        click.echo(visible(f"{rule.id}  {rule_json(rule)['description']}  ->  {rule.webhook_url}"))
    if not found:
        click.echo("(none)")


@alerts.command("remove")
@click.argument("rule_id")
@project_option
@database_options
def remove(
    rule_id: str, project: str | None, database_url: str | None, data_dir: Path | None
) -> None:
    """Remove the rule RULE_ID (and its history) from a project."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        chosen = resolve_project(store, project)
        try:
            store.delete_alert_rule(chosen.id, rule_id.strip())
        except NotFound:
            raise click.ClickException(
                visible(f'no alert rule {rule_id!r} in project "{chosen.name}"')
            ) from None
    click.echo(f"Removed rule {rule_id}.")


@alerts.command("history")
@project_option
@click.option("--rule", "rule_id", help="Only this rule's alerts.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@json_option
@database_options
def history(
    project: str | None,
    rule_id: str | None,
    limit: int,
    as_json: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Show a project's fired alerts, newest first, with their delivery attempts."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        chosen = resolve_project(store, project)
        found = store.list_alert_firings(chosen.id, rule_id, limit)
    shown = [firing_json(f, config.base_url) for f in found]
    if as_json:
        echo_json(shown)
        return
    for f in shown:
        click.echo(
            visible(
                f"{f['fired_at'][:19]}  rule {f['rule_id']}  {f['occurrence']}  {f['status']} "
                f"after {f['attempts']} attempt(s)"
            )
        )
        for a in f["history"]:
            outcome = "ok" if a["ok"] else (a["error"] or "failed")
            click.echo(visible(f"    attempt {a['attempt']} at {a['at'][:19]}: {outcome}"))
    if not shown:
        click.echo("(no alert fired yet)")
