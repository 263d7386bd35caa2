"""`agentops db`: run schema migrations explicitly and show the schema revision."""

from __future__ import annotations

from pathlib import Path

import click

from agentops_server.cli.options import (
    build_config,
    database_name,
    database_options,
    find_database,
    first_line,
)


@click.group()
def db() -> None:
    """Database schema: upgrade it (the server also does at start) or show its revision."""


@db.command()
@database_options
def upgrade(database_url: str | None, data_dir: Path | None) -> None:
    """Migrate the database to the newest schema; safe to run any number of times."""
    from agentops_server.storage.migrate import current_revision, head_revision
    from agentops_server.storage.migrate import upgrade as run_upgrade

    config = build_config(database_url=database_url, data_dir=data_dir)
    where = database_name(config)
    find_database(config, create=True)
    try:
        before = current_revision(config.database_url)
        run_upgrade(config.database_url)
    except Exception as exc:  # the user's database, not a bug of ours: say what failed
        raise click.ClickException(f"cannot migrate {where}: {first_line(exc)}") from None
    head = head_revision()
    if before == head:
        click.echo(f"{where} is already at revision {head}")
    else:
        click.echo(f"{where} upgraded from revision {before or '(empty)'} to {head}")


@db.command()
@database_options
def current(database_url: str | None, data_dir: Path | None) -> None:
    """Print the database's schema revision, and whether it is the newest."""
    from agentops_server.storage.migrate import (
        SchemaTooNew,
        current_revision,
        head_revision,
        known_revision,
    )

    config = build_config(database_url=database_url, data_dir=data_dir)
    path = config.sqlite_file
    if path is not None and not path.exists():
        click.echo(
            f"(empty) - no database file {path} yet: run `agentops db upgrade` or `agentops serve`"
        )
        return
    try:
        revision = current_revision(config.database_url)
    except Exception as exc:
        raise click.ClickException(
            f"cannot read {database_name(config)}: {first_line(exc)}"
        ) from None
    head = head_revision()
    if revision is None:
        click.echo(f"(empty) - run `agentops db upgrade` to create the schema (head: {head})")
    elif revision == head:
        click.echo(f"{revision} (head)")
    elif not known_revision(revision):
        click.echo(f"{revision} - {SchemaTooNew(revision)}")
    else:
        click.echo(f"{revision} - behind head {head}: run `agentops db upgrade`")
