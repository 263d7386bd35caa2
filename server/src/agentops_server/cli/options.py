"""What every `agentops` subcommand shares: the database options and opening the store."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from agentops_server.config import PRIVATE_DIR_MODE, ConfigError, ServerConfig
from agentops_server.storage.records import Project
from agentops_server.storage.store import Store

F = TypeVar("F", bound=Callable[..., Any])


def database_options(command: F) -> F:
    """--database-url and --data-dir (env AGENTOPS_DATABASE_URL / AGENTOPS_DATA_DIR)."""
    command = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Directory for the SQLite file and the token secret "
        "[env AGENTOPS_DATA_DIR; default ./agentops-data].",
    )(command)
    command = click.option(
        "--database-url",
        help="sqlite:////ABSOLUTE/PATH (four slashes; sqlite:///PATH is relative to the "
        "current folder) or postgresql://USER@HOST/DB "
        "[env AGENTOPS_DATABASE_URL; default: SQLite in the data dir].",
    )(command)
    return command


def build_config(**values: Any) -> ServerConfig:
    try:
        return ServerConfig.build(**values)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@contextmanager
def opened_store(config: ServerConfig, *, create: bool = False) -> Iterator[Store]:
    """Migrate the schema if needed and open the store; a clear message if that fails.
    A SQLite file that does not exist is made only if `create` (see `find_database`)."""
    from agentops_server.storage.migrate import upgrade
    from agentops_server.storage.sql_store import open_store

    find_database(config, create=create)
    try:
        upgrade(config.database_url)
        store = open_store(config.database_url)
    except Exception as exc:  # any failure here is the user's database, not a bug of ours
        raise click.ClickException(
            f"cannot open the database {database_name(config)}: {first_line(exc)}"
        ) from None
    try:
        yield store
    finally:
        store.close()


def find_database(config: ServerConfig, *, create: bool) -> None:
    """Refuse a SQLite file that does not exist, unless `create`: only `serve`, `db upgrade`
    and `import` make a database. Any other command run outside the server's folder made an
    empty one of its own in ./agentops-data, which the server never read. With `create`, the
    data directory is made for a new file in it, but no other folder: one a --database-url
    names must exist."""
    path = config.sqlite_file
    if path is None or path.exists():
        return
    if not create:
        raise click.ClickException(
            f"no agentops database at {path}: pass the server's --data-dir (or "
            "--database-url); `agentops serve` or `agentops db upgrade` makes a new one"
        )
    if path.parent == config.data_dir:
        config.data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    elif not path.parent.is_dir():  # a mistyped URL, or three slashes meant as four
        raise click.ClickException(
            f"no folder {path.parent} for the SQLite database {path.name}: create it, or "
            "correct the URL (sqlite:///PATH is relative to the current folder, "
            "sqlite:////PATH absolute)"
        )


def database_name(config: ServerConfig) -> str:
    """The database as its user knows it: the SQLite file's path, or the URL without its
    password."""
    path = config.sqlite_file
    return str(path) if path is not None else redact(config.database_url)


def redact(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def resolve_project(store: Store, wanted: str | None) -> Project:
    """The project named or identified by `wanted`; the only project if there is one."""
    projects = store.list_projects()
    if wanted:
        by_id = [p for p in projects if p.id == wanted]
        named = by_id or [p for p in projects if p.name == wanted]
        if len(named) > 1:  # made before names were unique
            ids = ", ".join(p.id for p in named)
            raise click.ClickException(
                f"several projects are named {wanted!r} (ids {ids}): pass --project with an id"
            )
        if named:
            return named[0]
        raise click.ClickException(f"no project with id or name {wanted!r}")
    if len(projects) == 1:
        return projects[0]
    if not projects:
        raise click.ClickException("no project yet: create one with `agentops projects create`")
    names = ", ".join(repr(p.name) for p in projects)
    raise click.ClickException(f"several projects exist ({names}): choose one with --project")


def project_option(command: F) -> F:
    return click.option(
        "--project", "project", help="Project id or name (default: the only project)."
    )(command)


def invocation() -> str:
    """How to run this CLI again, as the user ran it: `agentops` when that is what PATH finds,
    else the script's path (`.venv/bin/agentops` from `make serve`, without an activated venv),
    or `python -m agentops_server`."""
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script) == "__main__.py":
        return f"{shlex.quote(sys.executable)} -m agentops_server"
    found = shutil.which("agentops")
    if not script or (found and os.path.realpath(found) == os.path.realpath(script)):
        return "agentops"
    return shlex.quote(_near(script))


def database_flags(config: ServerConfig) -> str:
    """The options that point another command at the same database, e.g. ` --data-dir DIR`."""
    if config.sqlite_file is not None and config.sqlite_file.parent == config.data_dir:
        return f" --data-dir {shlex.quote(_near(str(config.data_dir)))}"
    return f" --database-url {shlex.quote(redact(config.database_url))}"


def _near(path: str) -> str:
    """`path` relative to the current directory when it lies below it, else absolute."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith("..") else relative


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))
