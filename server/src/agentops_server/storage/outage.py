"""Telling a database outage (worth a retry later) from a failed statement (a bug), so the API
can answer 503 with Retry-After instead of 500 without knowing SQLAlchemy or the drivers.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DATABASE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, PoolTimeout)
"""Every error a store call can raise from the database layer (test with is_outage)."""

_SQLITE_OUTAGE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_PERM,
    }
)
_POSTGRES_LIMIT_CLASS = "54"  # SQLSTATE class "program limit exceeded"


def is_outage(exc: BaseException) -> bool:
    """True when the database could not be reached, opened or written at all (server down or
    restarting, database dropped, connection lost, pool exhausted, SQLite file unreadable,
    locked or on a full disk); False for an error in a statement itself."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    original = exc.orig
    if isinstance(original, sqlite3.Error):
        # SQLite also raises OperationalError for SQL mistakes ("no such table"): not an outage
        code = getattr(original, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_OUTAGE_CODES
    # PostgreSQL (psycopg): connection failures, shutdowns, cancelled statements; but not a
    # statement past one of its limits (class 54: a value too long for an index or a
    # tsvector), which fails the same way however often it is tried
    sqlstate = getattr(original, "sqlstate", None)
    return not (isinstance(sqlstate, str) and sqlstate.startswith(_POSTGRES_LIMIT_CLASS))
