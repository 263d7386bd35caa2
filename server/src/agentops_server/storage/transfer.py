"""Moving all data between databases (e.g. SQLite to PostgreSQL) as JSON Lines.

The first line is a header (format, version, schema revision, row counts); every other line
is one row: {"table": NAME, "row": {column: value}}. Tables come parent-first, each in primary
key order, read in keyset chunks so memory stays flat. Import inserts with ON CONFLICT DO
NOTHING, so running it twice (or resuming after an interruption) changes nothing. Event and
uploaded log `seq` numbers are not carried: the target numbers them in the order they arrive,
which is the source's order (a log already stored is recognised by its session, time and size).
The full-text index is not carried either (SQLite's lives in an FTS5 table, PostgreSQL's in
tsvectors): the import indexes the sessions it brings, on the target's engine.
A file whose row counts fall short of its header's (cut off) is reported as incomplete, and one
written by a newer schema is refused before anything is imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import Connection, Engine, Integer, Table, exists, func, select, tuple_

from agentops_server.storage import session_words
from agentops_server.storage.appends import insert_ignore
from agentops_server.storage.engine import Engines, create_engines
from agentops_server.storage.index_keys import index_key
from agentops_server.storage.migrate import current_revision, known_revision
from agentops_server.storage.schema import (
    metadata,
    search_docs,
    session_logs,
    sessions,
)
from agentops_server.storage.types import DecimalText, UTCDateTime, dumps

FORMAT = "agentops-export"
VERSION = 1
CHUNK_ROWS = 2000
SKIPPED_COLUMNS = {"events": frozenset({"seq"}), "session_logs": frozenset({"seq"})}
SKIPPED_TABLES = frozenset(
    {
        "pending_otlp",  # short-lived OTLP data waiting for its token
        "search_docs",  # each engine builds its own index (see import_database)
    }
)
INDEX_SESSIONS_PER_CHUNK = 200
# Text the store indexes, cut on import as ingest cuts it (storage/index_keys.py): a file
# exported by an earlier version, or from SQLite, may hold values PostgreSQL cannot index.
INDEX_KEY_COLUMNS = {
    "agents": ("name",),
    "events": ("model",),
    "session_models": ("model",),
    "session_tags": ("tag",),
    "sessions": ("tags",),
}

Progress = Callable[[int], None]


class TransferError(ValueError):
    """The input is not an export file this version can read."""


def transfer_tables() -> list[Table]:
    """Every table, parents before children."""
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def _columns(table: Table) -> list[str]:
    skipped = SKIPPED_COLUMNS.get(table.name, frozenset())
    return [c.name for c in table.columns if c.name not in skipped]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _iter_table(conn: Connection, table: Table, chunk_rows: int) -> Iterator[dict[str, Any]]:
    key = list(table.primary_key.columns)
    names = _columns(table)
    query = select(*table.columns).order_by(*key).limit(chunk_rows)
    after: tuple[Any, ...] | None = None
    while True:
        chunk_query = query
        if after is not None:
            chunk_query = query.where(tuple_(*key) > tuple_(*after))
        rows = conn.execute(chunk_query).mappings().all()
        for row in rows:
            yield {name: _plain(row[name]) for name in names}
        if len(rows) < chunk_rows:
            return
        after = tuple(rows[-1][c.name] for c in key)


def count_rows(source: Engine | Connection) -> dict[str, int]:
    if isinstance(source, Engine):
        with source.connect() as conn:
            return count_rows(conn)
    return {
        t.name: int(source.execute(select(func.count()).select_from(t)).scalar_one())
        for t in transfer_tables()
    }


def export_database(
    database_url: str, out: IO[str], progress: Progress | None = None, *,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, int]:  # fmt: skip
    """Write every row of the database to `out`; returns the row count per table.

    One read transaction (REPEATABLE READ on PostgreSQL, a WAL snapshot on SQLite) makes the
    file a consistent snapshot even while a server keeps writing.
    """
    engines = create_engines(database_url)
    try:
        with engines.read.connect() as conn:
            if engines.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            return _export(conn, database_url, out, progress, chunk_rows)
    finally:
        engines.dispose()


def _export(
    conn: Connection, database_url: str, out: IO[str], progress: Progress | None, chunk_rows: int
) -> dict[str, int]:
    header = {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": current_revision(database_url),
        "counts": count_rows(conn),
    }
    out.write(dumps(header) + "\n")
    written: dict[str, int] = {}
    for table in transfer_tables():
        n = 0
        for row in _iter_table(conn, table, chunk_rows):
            out.write(dumps({"table": table.name, "row": row}) + "\n")
            n += 1
            if progress is not None and n % 500 == 0:
                progress(500)
        if progress is not None:
            progress(n % 500)
        written[table.name] = n
    return written


def read_header(first_line: str) -> dict[str, Any]:
    try:
        header = json.loads(first_line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TransferError("not an agentops export file (no agentops-export header line)")
    if header.get("version") != VERSION:
        raise TransferError(f"export format version {header.get('version')!r} is not supported")
    revision = header.get("schema_revision")
    if revision is not None and not known_revision(str(revision)):
        raise TransferError(
            f"written by a newer agentops (schema {revision}, unknown to this version): "
            "upgrade agentops-server, then import it"
        )
    return header


@dataclass
class ImportResult:
    read: dict[str, int] = field(default_factory=dict)  # rows in the file, per table
    inserted: dict[str, int] = field(default_factory=dict)  # new rows, per table


class _Loader:
    """Parses rows for one table (restoring timestamps and decimals) and inserts them."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.names = set(_columns(table))
        self.times = {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}
        self.decimals = {c.name for c in table.columns if isinstance(c.type, DecimalText)}
        self.keys = INDEX_KEY_COLUMNS.get(table.name, ())

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        row = {k: v for k, v in raw.items() if k in self.names}
        for name in self.keys:  # an export of an earlier version may hold longer ones
            value = row.get(name)
            if isinstance(value, str):
                row[name] = index_key(value)
            elif isinstance(value, list):  # a session's tags, as session_tags holds them
                row[name] = [index_key(v) if isinstance(v, str) else v for v in value]
        for name in self.times:
            if row.get(name) is not None:
                row[name] = datetime.fromisoformat(row[name])
        for name in self.decimals:
            if row.get(name) is not None:
                row[name] = Decimal(row[name])
        return row


def import_database(
    database_url: str, lines: Iterable[str], progress: Progress | None = None, *,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportResult:  # fmt: skip
    """Insert every row of an export into a migrated database; existing rows are kept. Then
    the imported sessions are indexed for text search, PostgreSQL's sequences are moved past
    the imported numbers, and a file with fewer rows than its header counts raises
    TransferError (the rows before the cut are imported: importing the whole file again
    completes it)."""
    iterator = iter(lines)
    header = read_header(next(iterator, ""))
    loaders = {t.name: _Loader(t) for t in transfer_tables()}
    result = ImportResult()
    engines = create_engines(database_url)
    pending: list[dict[str, Any]] = []
    pending_table: str | None = None

    def flush() -> None:
        if not pending or pending_table is None:
            return
        table = loaders[pending_table].table
        # Count the rows RETURNING gives back: an executemany's rowcount is -1 on PostgreSQL.
        stmt = (
            insert_ignore(engines.dialect, table)
            .on_conflict_do_nothing()
            .returning(*table.primary_key.columns)
        )
        with engines.write.begin() as conn:
            rows = _new_logs(conn, pending) if table is session_logs else pending
            inserted = len(conn.execute(stmt, rows).all()) if rows else 0
        result.inserted[table.name] = result.inserted.get(table.name, 0) + inserted
        if progress is not None:
            progress(len(pending))
        pending.clear()

    try:
        for number, line in enumerate(iterator, start=2):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                name, raw = record["table"], record["row"]
                if name in SKIPPED_TABLES:  # an older version's file: rebuilt here instead
                    continue
                loader = loaders[name]
                row = loader.parse(raw)
            except (ValueError, KeyError, TypeError) as exc:
                raise TransferError(f"line {number}: not a valid row ({exc})") from None
            if name != pending_table or len(pending) >= chunk_rows:
                flush()
                pending_table = name
            pending.append(row)
            result.read[name] = result.read.get(name, 0) + 1
        flush()
        _advance_sequences(engines)
        # a cut-off file's sessions are indexed by the complete file's import, not before
        _check_complete(header, result)
        _index_unindexed_sessions(engines)
        with engines.write.begin() as conn:  # fresh planner statistics after a bulk load
            conn.exec_driver_sql("ANALYZE")
    finally:
        engines.dispose()
    return result


def _new_logs(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The uploaded logs of `rows` not stored yet. They carry no key of their own (their
    numbers are not carried, like events'), so a log is the same when its session, time and
    length are: importing a file again adds none twice."""
    logs = session_logs.c
    sessions_of = sorted({row["session_id"] for row in rows})
    stored = {
        (sid, when, size)
        for sid, when, size in conn.execute(
            select(logs.session_id, logs.received_at, func.length(logs.body)).where(
                logs.session_id.in_(sessions_of)
            )
        )
    }
    return [
        row
        for row in rows
        if (row["session_id"], row["received_at"], len(row["body"])) not in stored
    ]


def _check_complete(header: dict[str, Any], result: ImportResult) -> None:
    counts = header.get("counts")
    if not isinstance(counts, dict):
        return
    short = [
        f"{table} {result.read.get(table, 0)} of {expected}"
        for table, expected in counts.items()
        if isinstance(expected, int) and table not in SKIPPED_TABLES
        and result.read.get(table, 0) < expected
    ]  # fmt: skip
    if short:
        raise TransferError(
            "the file is incomplete (cut off?): rows read against its header: "
            + ", ".join(short)
            + ". What it held was imported; import the complete file to finish (rows already "
            "imported are skipped)"
        )


def _advance_sequences(engines: Engines) -> None:
    """PostgreSQL: each serial key's sequence past the largest number stored (rows imported
    with their numbers leave it behind, and the next insert would collide with them)."""
    if engines.dialect != "postgresql":
        return  # SQLite numbers a new row past the largest stored
    with engines.write.begin() as conn:
        # every table (search_docs too: an earlier version's import copied its numbers)
        for table in metadata.sorted_tables:
            for column in table.primary_key.columns:
                if column.autoincrement is True and isinstance(column.type, Integer):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                        f"GREATEST(COALESCE(MAX({column.name}), 0), 1), "
                        f"MAX({column.name}) IS NOT NULL) FROM {table.name}"
                    )


def _index_unindexed_sessions(engines: Engines) -> int:
    """Index for text search the sessions that have no search document (those imported): their
    name and end reason, their agents' names and their events' text, as ingest would have.
    Returns how many."""
    unindexed = select(sessions.c.id).where(
        ~exists().where(search_docs.c.session_id == sessions.c.id)
    )
    with engines.read.connect() as conn:
        ids = [row[0] for row in conn.execute(unindexed.order_by(sessions.c.id))]
    for start in range(0, len(ids), INDEX_SESSIONS_PER_CHUNK):
        chunk = ids[start : start + INDEX_SESSIONS_PER_CHUNK]
        with engines.write.begin() as conn:
            session_words.index_stored(conn, engines.dialect, chunk)
    return len(ids)
