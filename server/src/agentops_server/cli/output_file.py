"""Files the CLI exports to: readable by their owner only (they hold key and password hashes
and every prompt), written whole or not at all, never over an existing file without --force,
and never over the database they are read from."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from sqlalchemy.engine import make_url

from agentops_server.config import SECRET_FILENAME, ServerConfig

F = TypeVar("F", bound=Callable[..., Any])

SQLITE_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def force_option(command: F) -> F:
    return click.option("--force", is_flag=True, help="Replace the output file if it exists.")(
        command
    )


def data_files(config: ServerConfig) -> list[Path]:
    """The files an export must never replace: the token secret, the SQLite database and its
    journals."""
    found = [config.data_dir / SECRET_FILENAME]
    database = make_url(config.database_url).database if config.is_sqlite else None
    if database and database != ":memory:":
        found += [Path(database + suffix) for suffix in SQLITE_FILE_SUFFIXES]
    return found


def check_output(path: Path, *, force: bool, protected: list[Path]) -> None:
    """Refuse, before any work, an output that is a data file or an existing file (unless
    --force); a mistake in --output, so a usage error."""
    for data_file in protected:
        if _same_file(path, data_file):
            raise click.BadParameter(
                f"{path} is the server's own file {data_file}: choose another file "
                "(--force does not allow this)",
                param_hint="--output",
            )
    if os.path.lexists(path) and not force:
        raise click.BadParameter(
            f"{path} already exists: choose another file, or pass --force to replace it",
            param_hint="--output",
        )


@contextmanager
def private_output(path: Path, *, force: bool) -> Iterator[IO[bytes]]:
    """A new file at `path`, mode 0600: written under a temporary name beside it and moved into
    place when the block ends; removed if the block fails (or is stopped by Ctrl+C)."""
    try:
        fd, temporary = tempfile.mkstemp(  # O_CREAT | O_EXCL, mode 0600
            prefix=f"{path.name}.", suffix=".partial", dir=path.parent
        )
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _move_into_place(Path(temporary), path, force=force)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _move_into_place(temporary: Path, path: Path, *, force: bool) -> None:
    try:
        if force:
            os.replace(temporary, path)
            return
        try:
            os.link(temporary, path)  # unlike a rename, fails if `path` appeared meanwhile
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system (FAT, some network shares)
            if os.path.lexists(path):
                raise FileExistsError(path) from None
            os.replace(temporary, path)
            return
        os.unlink(temporary)
    except FileExistsError:
        raise click.ClickException(
            f"{path} was created while exporting: kept it; pass --force to replace it"
        ) from None
    except OSError as exc:
        raise cannot_write(path, exc) from None


def cannot_write(path: Path, exc: OSError) -> click.ClickException:
    """What went wrong writing `path`, in words (no temporary name, no traceback)."""
    if isinstance(exc, FileNotFoundError):
        reason = f"there is no directory {path.parent}"
    elif isinstance(exc, IsADirectoryError):
        reason = "it is a directory"
    elif isinstance(exc, NotADirectoryError):
        reason = f"{path.parent} is not a directory"
    elif isinstance(exc, PermissionError):
        reason = f"permission denied (in {path.parent})"
    else:
        reason = exc.strerror or str(exc)
    return click.ClickException(f"cannot write {path}: {reason}")


def _same_file(path: Path, other: Path) -> bool:
    if os.path.exists(path) and os.path.exists(other):
        return os.path.samefile(path, other)  # also through symlinks and hard links
    return path.resolve() == other.resolve()
