"""`agentops users`: dashboard accounts (create one, set a password)."""

from __future__ import annotations

from pathlib import Path

import click

from agentops_server.auth.accounts import AccountError, create_account, set_password
from agentops_server.auth.passwords import PasswordError, check_password_rules, generate_password
from agentops_server.cli.options import (
    build_config,
    database_options,
    echo_json,
    find_database,
    opened_store,
)
from agentops_server.cli.terminal import visible
from agentops_server.storage.store import Conflict


def _password(given: str | None, generate: bool) -> tuple[str, bool]:
    if given is not None and generate:
        raise click.UsageError("use --password or --generate-password, not both")
    if generate:
        return generate_password(), True
    password = given
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_rules(password)
    except PasswordError as exc:
        raise click.UsageError(str(exc)) from None
    return password, False


@click.group()
def users() -> None:
    """Dashboard accounts."""


@users.command("create")
@click.argument("email")
@click.option("--password", default=None, help="the password (default: prompt for it)")
@click.option("--generate-password", is_flag=True, help="generate a password and print it")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@database_options
def create(
    email: str,
    password: str | None,
    generate_password: bool,
    as_json: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Create a dashboard account that signs in with EMAIL."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    find_database(config, create=False)  # before asking for a password
    secret, generated = _password(password, generate_password)
    with opened_store(config) as store:
        try:
            user = create_account(store, email, secret)
        except (AccountError, PasswordError) as exc:
            raise click.UsageError(str(exc)) from None
        except Conflict as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        shown = {"id": user.id, "email": user.email}
        if generated:
            shown["password"] = secret
        echo_json(shown)
        return
    click.echo(visible(f"Created account {user.email}"))
    if generated:
        click.echo(f"Password: {secret}")


@users.command("set-password")
@click.argument("email")
@click.option("--password", default=None, help="the new password (default: prompt for it)")
@click.option("--generate-password", is_flag=True, help="generate a password and print it")
@database_options
def set_password_command(
    email: str,
    password: str | None,
    generate_password: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Give the account EMAIL a new password."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    find_database(config, create=False)  # before asking for a password
    secret, generated = _password(password, generate_password)
    with opened_store(config) as store:
        try:
            user = set_password(store, email, secret)
        except (AccountError, PasswordError) as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(visible(f"New password set for {user.email}"))
    if generated:
        click.echo(f"Password: {secret}")
