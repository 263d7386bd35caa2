"""`agentops export` / `agentops import`: all data of one database into another, e.g. from
SQLite to PostgreSQL, as JSON Lines (gzip-compressed when the file name ends in .gz)."""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO

import click

from agentops_server.cli.options import (
    build_config,
    database_name,
    database_options,
    find_database,
    first_line,
)
from agentops_server.cli.output_file import (
    cannot_write,
    check_output,
    data_files,
    force_option,
    private_output,
)


@contextmanager
def _reading(path: Path, *, gz: bool) -> Iterator[IO[str]]:
    if gz:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            yield handle
    else:
        with path.open("r", encoding="utf-8") as handle:
            yield handle


@contextmanager
def _writing(raw: IO[bytes], *, gz: bool) -> Iterator[IO[str]]:
    """Text into `raw`, gzip-compressed if asked; `raw` stays open for its owner to close."""
    with gzip.GzipFile(fileobj=raw, mode="wb") if gz else nullcontext(raw) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8")
        try:
            yield text
            text.flush()
        finally:
            text.detach()


def _is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


@click.command("export")
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (JSON Lines; gzip if it ends in .gz), readable by you only.",
)  # fmt: skip
@force_option
@database_options
def export_(output: Path, force: bool, database_url: str | None, data_dir: Path | None) -> None:
    """Export ALL data (projects, key hashes, sessions, stats, events, agents, prices, users)."""
    from agentops_server.storage.engine import create_engines
    from agentops_server.storage.migrate import check_not_newer
    from agentops_server.storage.transfer import count_rows, export_database

    config = build_config(database_url=database_url, data_dir=data_dir)
    where = database_name(config)
    find_database(config, create=False)
    check_output(output, force=force, protected=data_files(config))
    try:
        check_not_newer(config.database_url)  # its new columns would be left out unnoticed
        engines = create_engines(config.database_url)
        try:
            total = sum(count_rows(engines.read).values())
        finally:
            engines.dispose()
        with (  # Ctrl+C or a failure: no half-written file is left behind
            private_output(output, force=force) as raw,
            _writing(raw, gz=_is_gzip(output)) as out,
            click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar,
        ):
            counts = export_database(config.database_url, out, bar.update)
    except click.ClickException:
        raise
    except OSError as exc:
        raise cannot_write(output, exc) from None
    except Exception as exc:
        raise click.ClickException(f"cannot export {where}: {first_line(exc)}") from None
    summary = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
    click.echo(f"exported {sum(counts.values())} rows to {output} ({summary or 'no data'})")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@database_options
def import_(file: Path, database_url: str | None, data_dir: Path | None) -> None:
    """Import an export file; rows already present are kept, so running it again is safe."""
    from agentops_server.storage.migrate import upgrade
    from agentops_server.storage.transfer import TransferError, import_database, read_header

    config = build_config(database_url=database_url, data_dir=data_dir)
    where = database_name(config)
    find_database(config, create=True)  # importing into a new database is one of its uses
    try:
        with _reading(file, gz=_is_gzip(file)) as handle:
            header = read_header(handle.readline())
        total = sum(int(n) for n in header.get("counts", {}).values())
        upgrade(config.database_url)
        with (
            _reading(file, gz=_is_gzip(file)) as handle,
            click.progressbar(length=total, label="Importing", file=sys.stderr) as bar,
        ):
            result = import_database(config.database_url, handle, bar.update)
    except TransferError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {file}: {first_line(exc)}") from None
    except Exception as exc:
        raise click.ClickException(f"cannot import into {where}: {first_line(exc)}") from None
    read = sum(result.read.values())
    new = sum(result.inserted.values())
    click.echo(f"imported {file} into {where}: {read} rows read, {new} new")
