"""The DBAPI connection under a SQLAlchemy Connection, for the ingest hot path: fixed SQL
strings run by the driver itself (its statement cache keeps them prepared), with no per-call
statement compilation, cache keys or result wrapping. Errors still surface as SQLAlchemy's
DBAPIError subclasses, as if SQLAlchemy had run the statement, so callers and the retry in
SqlStore._transact see no difference.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


@contextmanager
def sqlite_cursor(conn: Connection, statement: str) -> Iterator[sqlite3.Cursor]:
    """A cursor of the writer's sqlite3 connection, in the caller's transaction; `statement`
    names what runs in the error raised if the driver fails."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    cursor = raw.cursor()
    try:
        yield cursor
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()
