"""Keyset positions in a session's events, ordered by (init_timestamp, seq): the opaque cursors
of the dashboard's event windows and tree levels, and the SQL condition "after this position".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, tuple_

from agentops_server.storage import cursor_values
from agentops_server.storage.schema import events
from agentops_server.storage.store import InvalidCursor
from agentops_server.storage.types import UTCDateTime


def encode(kind: str, when: datetime, seq: int, scope: str | None = None) -> str:
    """A cursor of `kind` ("e" for windows, "t" for tree levels) after (when, seq); `scope`
    binds it to one list (a tree level's parent), so it cannot continue another."""
    parts: list[Any] = [kind, when.isoformat(), seq]
    if scope is not None:
        parts.append(scope)
    return cursor_values.pack(parts)


def decode(cursor: str, kind: str, scope: str | None = None) -> tuple[datetime, int]:
    """The (when, seq) of a cursor that `encode(kind, ..., scope)` issued; else InvalidCursor."""
    invalid = InvalidCursor(f"invalid cursor {cursor[:40]!r}")
    parts = cursor_values.unpack(cursor, invalid)
    if len(parts) not in (3, 4) or parts[0] != kind:
        raise invalid
    found_scope = parts[3] if len(parts) == 4 else None
    if found_scope != scope:
        raise invalid
    return cursor_values.time_of(parts[1], invalid), cursor_values.int_of(parts[2], invalid)


def after(when: datetime, seq: int) -> ColumnElement[bool]:
    """Events after (when, seq) in time order. The plain `>=` bounds the index range on every
    planner; the row value comparison is exact."""
    return and_(
        events.c.init_timestamp >= when,
        tuple_(events.c.init_timestamp, events.c.seq)
        > tuple_(literal(when, type_=UTCDateTime), seq),
    )
