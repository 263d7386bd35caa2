"""Engine creation for SQLite and PostgreSQL.

SQLite: WAL, busy_timeout, foreign_keys=ON, synchronous=NORMAL; a pool of readers and ONE
writer connection whose transactions start with BEGIN IMMEDIATE (so concurrent writers, even
in other processes, queue on the busy timeout instead of failing). PostgreSQL: psycopg 3,
one pool for reads and writes (row locks keep statistics exact).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

from agentops_server.config import PRIVATE_DIR_MODE, normalize_database_url
from agentops_server.storage.checkpointer import (
    JOURNAL_SIZE_LIMIT_BYTES,
    WRITER_AUTOCHECKPOINT_PAGES,
    Checkpointer,
)
from agentops_server.storage.types import dumps

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_READERS = 8
POSTGRES_POOL_SIZE = 10
POSTGRES_POOL_RECYCLE_SECONDS = 1800
POSTGRES_IDLE_PING_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Engines:
    """Where reads and writes go. On PostgreSQL both are the same engine."""

    read: Engine
    write: Engine
    dialect: str  # "sqlite" | "postgresql"
    checkpointer: Checkpointer | None = None

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.read.dispose()
        self.write.dispose()


def create_engines(database_url: str) -> Engines:
    url = make_url(normalize_database_url(database_url))
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise ValueError("SQLite needs a file path: sqlite:///PATH/agentops.sqlite3")
        Path(database).parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        write = _sqlite_engine(url.render_as_string(hide_password=False), writer=True)
        read = _sqlite_engine(url.render_as_string(hide_password=False), writer=False)
        checkpointer = Checkpointer(database, SQLITE_BUSY_TIMEOUT_MS)
        return Engines(read=read, write=write, dialect="sqlite", checkpointer=checkpointer)
    engine = create_engine(
        url,
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=POSTGRES_POOL_SIZE,
        # no pre-ping on every checkout (a round trip each time): see _ping_after_idle
        pool_recycle=POSTGRES_POOL_RECYCLE_SECONDS,
        json_serializer=dumps,
        connect_args={"options": "-c timezone=UTC"},
    )
    _ping_after_idle(engine)
    # single-statement reads need no BEGIN/ROLLBACK round trips; same pool as the writes
    read = engine.execution_options(isolation_level="AUTOCOMMIT")
    return Engines(read=read, write=engine, dialect="postgresql")


def create_admin_engine(database_url: str) -> Engine:
    """A plain engine for migrations: one connection, same pragmas, no pool to speak of."""
    url = make_url(normalize_database_url(database_url))
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        return _sqlite_engine(url.render_as_string(hide_password=False), writer=True)
    return create_engine(url, json_serializer=dumps, connect_args={"options": "-c timezone=UTC"})


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle for a while (it may have been
    dropped by a server restart or a firewall). A connection lost while busy fails one
    statement and invalidates the pool; writes are then retried (sql_store)."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < POSTGRES_IDLE_PING_SECONDS:
            return
        try:
            dbapi_conn.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _sqlite_engine(url: str, *, writer: bool) -> Engine:
    engine = create_engine(
        url,
        pool_size=1 if writer else SQLITE_READERS,
        max_overflow=0 if writer else SQLITE_READERS,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
        if writer:
            cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
            cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine
