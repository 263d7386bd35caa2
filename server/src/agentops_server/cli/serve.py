"""`agentops serve`: migrate, make sure a project exists, listen, and run the supervisor with
its worker processes (serving/)."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import sys
from pathlib import Path

import click

from agentops_server.auth.accounts import FIRST_ADMIN_LOGIN, ensure_first_admin
from agentops_server.auth.keys import issue_key
from agentops_server.auth.tokens import load_secret
from agentops_server.cli.options import (
    database_flags,
    database_name,
    database_options,
    find_database,
    invocation,
    opened_store,
)
from agentops_server.cli.serve_settings import SettingsSource, migrate
from agentops_server.cli.terminal import visible
from agentops_server.config import ConfigError, ServerConfig
from agentops_server.serving.listener import address, bind, systemd_socket
from agentops_server.serving.logs import log_config
from agentops_server.serving.supervisor import Supervisor
from agentops_server.storage.store import Conflict


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
    help="Server processes sharing the port and the database [env AGENTOPS_WORKERS; default 1].",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file of AGENTOPS_*=value lines, read at start and on every SIGHUP; its values "
    "override the environment's.",
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
    workers: int | None,
    env_file: Path | None,
) -> None:
    """Run the server: AgentOps v2 ingestion, export API, dashboard and /docs.

    `kill -HUP` replaces the server processes one by one with fresh ones (the code and
    settings now on disk) while the port stays open: no request is refused."""
    source = SettingsSource(
        flags={
            "host": host,
            "port": port,
            "database_url": database_url,
            "data_dir": data_dir,
            "max_body_bytes": max_body_bytes,
            "session_inactivity_seconds": session_inactivity,
        },
        workers=workers,
        env_file=env_file,
        log_level=log_level,
        access_log=access_log,
    )
    try:
        config = source.read().config
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    find_database(config, create=True)  # before anything is made: the socket, the secret
    sock, source.handed = _listen(config)
    source.bound = address(sock)
    settings = source.read()
    config = settings.config
    try:
        load_secret(config)  # once, before any worker could race to create it
    except OSError as exc:
        raise click.ClickException(f"cannot read or create the token secret: {exc}") from None
    _prepare(config)
    import uvicorn

    # the same log format and level as the workers'
    uvicorn.Config(app="", log_level=log_level, log_config=log_config(log_level))
    supervisor = Supervisor(sock, source.reload, migrate)
    code = supervisor.run()
    sock.close()
    if supervisor.stop_signal is not None:  # exit as a process killed by it, as uvicorn did
        signal.signal(supervisor.stop_signal, signal.SIG_DFL)
        os.kill(os.getpid(), supervisor.stop_signal)
    sys.exit(code)


def _listen(config: ServerConfig) -> tuple[socket.socket, bool]:
    """The socket systemd passed (socket activation; True), else one bound to host:port."""
    try:
        sock = systemd_socket(os.environ)
        return (sock, True) if sock is not None else (bind(config.host, config.port), False)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {exc}") from None


def _prepare(config: ServerConfig) -> None:
    """Migrate, create the Default project on a first start, and say where things are."""
    with opened_store(config, create=True) as store:
        projects = store.list_projects()
        issued = None
        if not projects:
            try:
                project = store.create_project("Default")
            except Conflict:  # another server starting on the same database created it
                projects = store.list_projects()
            else:
                issued = issue_key(store, project.id, label="created by the first `agentops serve`")
        admin_password = ensure_first_admin(store)
    echo = click.echo
    cli, flags = invocation(), database_flags(config)
    echo(f"agentops server: {config.base_url}  (API docs {config.base_url}/docs)")
    if config.public_url:
        echo(f"listening on {config.listen_url}")
    echo(f"database: {database_name(config)}")
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
        names = visible(", ".join(p.name for p in projects))
        first = projects[0]
        unique = [p.name for p in projects].count(first.name) == 1  # else only its id is sure
        typeable = visible(first.name) == first.name  # no control characters
        choice = shlex.quote(first.name if unique and typeable else first.id)
        echo(f"To make an API key: {cli} keys create --project {choice}{flags}")
        echo(f"  (--project: one of the {len(projects)} projects, {names})")
    if admin_password is not None:
        echo(f"Dashboard: {config.base_url}/  sign in as {FIRST_ADMIN_LOGIN!r} with the password")
        echo(f"(shown only once; change it with `{cli} users set-password admin{flags}`):")
        echo("")
        echo(f"    {admin_password}")
        echo("")
