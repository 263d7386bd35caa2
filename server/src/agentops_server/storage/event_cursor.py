"""Keyset positions in a session's events, ordered by (init_timestamp, seq): the opaque cursors
of the dashboard's event windows and tree levels, and the SQL condition "after this position".
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, tuple_

from agentops_server.storage.schema import events
from agentops_server.storage.store import InvalidCursor
from agentops_server.storage.types import UTCDateTime


def encode(kind: str, when: datetime, seq: int, scope: str | None = None) -> str:
    """A cursor of `kind` ("e" for windows, "t" for tree levels) after (when, seq); `scope`
    binds it to one list (a tree level's parent), so it cannot continue another."""
    parts: list[Any] = [kind, when.isoformat(), seq]
    if scope is not None:
        parts.append(scope)
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, kind: str, scope: str | None = None) -> tuple[datetime, int]:
    """The (when, seq) of a cursor that `encode(kind, ..., scope)` issued; else InvalidCursor."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        found_kind, stamp, seq, *rest = parts
        when = datetime.fromisoformat(stamp)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor(f"invalid cursor {cursor[:40]!r}") from None
    found_scope = rest[0] if len(rest) == 1 else None
    if (
        found_kind != kind
        or when.tzinfo is None
        or not isinstance(seq, int)
        or len(rest) > 1
        or found_scope != scope
    ):
        raise InvalidCursor(f"invalid cursor {cursor[:40]!r}")
    return when, seq


def after(when: datetime, seq: int) -> ColumnElement[bool]:
    """Events after (when, seq) in time order. The plain `>=` bounds the index range on every
    planner; the row value comparison is exact."""
    return and_(
        events.c.init_timestamp >= when,
        tuple_(events.c.init_timestamp, events.c.seq)
        > tuple_(literal(when, type_=UTCDateTime), seq),
    )
