"""The text form of keyset cursors (URL-safe base64 of a JSON list) and the checks on what a
cursor carries. A cursor comes back from the client, who may have made it by hand: each value
must be one the database can compare with, or the cursor is refused (InvalidCursor, a 400)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from agentops_server.storage.store import InvalidCursor

_INT64 = range(-(2**63), 2**63)
# far beyond any cursor issued (a time, a number and two ids): a longer one is made by hand
MAX_CURSOR_CHARS = 2000


def pack(parts: list[Any]) -> str:
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(cursor: str, invalid: InvalidCursor) -> list[Any]:
    """The list a cursor holds; else `invalid` is raised."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise invalid
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise invalid from None
    if not isinstance(parts, list):
        raise invalid
    return parts


def time_of(value: Any, invalid: InvalidCursor) -> datetime:
    """An ISO 8601 time with its offset, as UTC (a time beyond year 9999 in UTC is refused)."""
    if not isinstance(value, str):
        raise invalid
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            raise invalid
        return when.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid from None


def text_of(value: Any, invalid: InvalidCursor) -> str:
    """A string both engines can bind: valid UTF-8 (no lone surrogates), no NUL character."""
    if not isinstance(value, str) or "\x00" in value:
        raise invalid
    try:
        value.encode()
    except UnicodeEncodeError:
        raise invalid from None
    return value


def int_of(value: Any, invalid: InvalidCursor) -> int:
    """A 64-bit integer (what the columns hold)."""
    if not isinstance(value, int) or isinstance(value, bool) or value not in _INT64:
        raise invalid
    return value
