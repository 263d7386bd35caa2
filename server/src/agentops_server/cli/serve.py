"""`agentops serve`: migrate, make sure a project exists, and run the server with uvicorn."""

from __future__ import annotations

import os
import shlex
import socket
from pathlib import Path

import click

from agentops_server.app import CONFIG_ENV
from agentops_server.auth.accounts import FIRST_ADMIN_LOGIN, ensure_first_admin
from agentops_server.auth.keys import issue_key
from agentops_server.auth.tokens import load_secret
from agentops_server.cli.options import (
    build_config,
    database_flags,
    database_options,
    invocation,
    opened_store,
    redact,
)
from agentops_server.config import ServerConfig

KEEP_ALIVE_SECONDS = 75


@click.command()
@click.option("--host", help="Interface to listen on [env AGENTOPS_HOST; default 127.0.0.1].")
@click.option(
    "--port", type=int, help="Port; 0 picks a free one [env AGENTOPS_PORT; default 8000]."
)
@database_options
@click.option(
    "--max-body-bytes",
    type=int,
    help="Largest request body, also after gzip decompression "
    "[env AGENTOPS_MAX_BODY_BYTES; default 50 MiB].",
)
@click.option(
    "--session-inactivity",
    type=int,
    help="Seconds without activity after which an unended session gets an end "
    "[env AGENTOPS_SESSION_INACTIVITY_SECONDS; default 3600].",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option("--access-log", is_flag=True, help="Log every HTTP request (off: agents send many).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    envvar="AGENTOPS_WORKERS",
    default=1,
    show_default=True,
    help="Server processes sharing the port and the database [env AGENTOPS_WORKERS].",
)
def serve(
    host: str | None,
    port: int | None,
    database_url: str | None,
    data_dir: Path | None,
    max_body_bytes: int | None,
    session_inactivity: int | None,
    log_level: str,
    access_log: bool,
    workers: int,
) -> None:
    """Run the server: AgentOps v2 ingestion, export API, dashboard and /docs."""
    config = build_config(
        host=host,
        port=port,
        database_url=database_url,
        data_dir=data_dir,
        max_body_bytes=max_body_bytes,
        session_inactivity_seconds=session_inactivity,
    )
    if config.port == 0:
        config = _with_free_port(config)
    try:
        load_secret(config)  # once, before any worker could race to create it
    except OSError as exc:
        raise click.ClickException(f"cannot read or create the token secret: {exc}") from None
    _prepare(config)
    import uvicorn

    os.environ[CONFIG_ENV] = config.to_json()
    uvicorn.run(
        "agentops_server.app:app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        log_level=log_level,
        access_log=access_log,
        workers=workers,
        timeout_graceful_shutdown=30,
        # Longer than clients keep idle connections (0.3.26: 10 s, sending every 5 s), so the
        # server never closes one just as a client reuses it (a POST is not retried then).
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


def _prepare(config: ServerConfig) -> None:
    """Migrate, create the Default project on a first start, and say where things are."""
    with opened_store(config) as store:
        projects = store.list_projects()
        issued = None
        if not projects:
            project = store.create_project("Default")
            issued = issue_key(store, project.id, label="created by the first `agentops serve`")
        admin_password = ensure_first_admin(store)
    echo = click.echo
    cli, flags = invocation(), database_flags(config)
    echo(f"agentops server: {config.base_url}  (API docs {config.base_url}/docs)")
    echo(f"database: {redact(config.database_url)}")
    if config.host in ("0.0.0.0", "::") and not config.public_url:
        echo("Listening on all interfaces: set AGENTOPS_PUBLIC_URL to the URL users reach.")
    if issued is not None:
        echo('First start: created project "Default". Its API key (shown only once):')
        echo("")
        echo(f"    {issued.secret}")
        echo("")
        echo("Use it in your agent:")
        echo(f'    agentops.init(api_key="{issued.secret}", endpoint="{config.base_url}")')
    elif len(projects) == 1:
        echo(f"To make an API key: {cli} keys create{flags}")
    else:
        names = ", ".join(p.name for p in projects)
        first = projects[0]
        unique = [p.name for p in projects].count(first.name) == 1  # else only its id is sure
        choice = shlex.quote(first.name if unique else first.id)
        echo(f"To make an API key: {cli} keys create --project {choice}{flags}")
        echo(f"  (--project: one of the {len(projects)} projects, {names})")
    if admin_password is not None:
        echo(f"Dashboard: {config.base_url}/  sign in as {FIRST_ADMIN_LOGIN!r} with the password")
        echo(f"(shown only once; change it with `{cli} users set-password admin{flags}`):")
        echo("")
        echo(f"    {admin_password}")
        echo("")


def _with_free_port(config: ServerConfig) -> ServerConfig:
    from dataclasses import replace

    with socket.socket() as sock:
        sock.bind((config.host, 0))
        port = int(sock.getsockname()[1])
    return replace(config, port=port)
