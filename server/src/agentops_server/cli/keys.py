"""`agentops keys`: list, create and revoke a project's API keys."""

from __future__ import annotations

from pathlib import Path

import click

from agentops_server.auth.keys import hash_key, is_key_format, issue_key
from agentops_server.cli.options import (
    build_config,
    database_options,
    echo_json,
    opened_store,
    project_option,
    resolve_project,
)
from agentops_server.cli.terminal import visible


@click.group()
def keys() -> None:
    """Manage API keys (UUIDs; the server keeps only their SHA-256 hashes)."""


@keys.command("list")
@project_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_options
def list_(
    project: str | None, as_json: bool, database_url: str | None, data_dir: Path | None
) -> None:
    """List a project's keys (only their first characters can be shown)."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        chosen = resolve_project(store, project)
        found = store.list_api_keys(chosen.id)
    if as_json:
        echo_json(
            [
                {
                    "id": k.id,
                    "project_id": k.project_id,
                    "prefix": k.prefix,
                    "label": k.label,
                    "created_at": k.created_at,
                    "revoked_at": k.revoked_at,
                }
                for k in found
            ]
        )
        return
    click.echo(visible(f'Keys of project "{chosen.name}":'))
    for k in found:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        click.echo(
            visible(f"{k.id}  {k.prefix}…  {k.created_at:%Y-%m-%d %H:%M}  {state}  {k.label}")
        )


@keys.command("create")
@project_option
@click.option("--label", default="", help="A note to recognise the key by.")
@click.option("--json", "as_json", is_flag=True, help='Print {"key_id","project_id","api_key"}.')
@database_options
def create(
    project: str | None,
    label: str,
    as_json: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Create an API key; the key is the last line of output."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        chosen = resolve_project(store, project)
        issued = issue_key(store, chosen.id, label=label)
    if as_json:
        echo_json({"key_id": issued.record.id, "project_id": chosen.id, "api_key": issued.secret})
        return
    click.echo(visible(f'New API key for project "{chosen.name}" (key id {issued.record.id}).'))
    click.echo("Shown only once; keep it secret:")
    click.echo(issued.secret)


@keys.command("revoke")
@click.argument("key")
@database_options
def revoke(key: str, database_url: str | None, data_dir: Path | None) -> None:
    """Revoke KEY (the key itself, or its id from `agentops keys list`)."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        found = store.find_api_key(hash_key(key)) if is_key_format(key) else None
        found = found or store.get_api_key(key.strip())
        if found is None:
            raise click.ClickException(f"no API key with id (or value) {key!r}")
        if found.revoked_at is not None:
            click.echo(
                f"Key {found.id} ({found.prefix}…) was already revoked on "
                f"{found.revoked_at:%Y-%m-%d %H:%M} UTC; nothing changed."
            )
            return
        revoked = store.revoke_api_key(found.id)
    click.echo(
        f"Revoked key {revoked.id} ({revoked.prefix}…): new sessions are refused now, and the "
        f"sessions it started within {config.key_check_seconds:g} s (AGENTOPS_KEY_CHECK_SECONDS)."
    )
