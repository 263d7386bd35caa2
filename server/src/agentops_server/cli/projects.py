"""`agentops projects`: create and list projects, and set their budgets."""

from __future__ import annotations

from pathlib import Path

import click

from agentops_server.auth.keys import issue_key
from agentops_server.cli.budget import budget
from agentops_server.cli.options import (
    build_config,
    database_name,
    database_options,
    echo_json,
    opened_store,
)
from agentops_server.cli.terminal import visible
from agentops_server.storage.store import Conflict


@click.group()
def projects() -> None:
    """Create and list projects (each has its own API keys and sessions), set their budgets."""


@projects.command("create")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help='Print {"project_id","name","api_key"}.')
@database_options
def create(name: str, as_json: bool, database_url: str | None, data_dir: Path | None) -> None:
    """Create project NAME with a first API key; the key is the last line of output."""
    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="NAME")
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        try:
            project = store.create_project(name.strip())
        except Conflict as exc:
            raise click.ClickException(
                f"{exc}: choose another name, or add a key to it with "
                f"`agentops keys create --project {name.strip()!r}`"
            ) from None
        key = issue_key(store, project.id, label="created with the project")
    if as_json:
        echo_json({"project_id": project.id, "name": project.name, "api_key": key.secret})
        return
    where = database_name(config)
    click.echo(visible(f'Created project "{project.name}" (id {project.id}) in {where}.'))
    click.echo("Its API key (shown only once; keep it secret):")
    click.echo(key.secret)


@projects.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_options
def list_(as_json: bool, database_url: str | None, data_dir: Path | None) -> None:
    """List projects."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        found = store.list_projects()
    if as_json:
        echo_json([{"id": p.id, "name": p.name, "created_at": p.created_at} for p in found])
        return
    if not found:
        click.echo(
            f"No projects yet in {database_name(config)}: "
            "create one with `agentops projects create NAME`."
        )
        return
    for p in found:
        click.echo(visible(f"{p.id}  {p.created_at:%Y-%m-%d %H:%M}  {p.name}"))


projects.add_command(budget)
