"""OTLP strings without NUL characters.

PostgreSQL's text columns cannot hold U+0000, which protobuf and JSON strings may carry: a span
named with one made the whole request fail on PostgreSQL, and SQLite stored what PostgreSQL
could not. Both readers drop it from every string they read (names, status messages, attribute
keys and values), as the v2 protocol's body parser does, so both engines store the same text.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

NUL = "\x00"


def without_nul(text: str) -> str:
    return text.replace(NUL, "") if NUL in text else text


def strings_without_nul(value: T) -> T:
    """`value` (parsed JSON) with NUL dropped from every string, keys included."""
    return _cleaned(value)  # type: ignore[no-any-return]


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(k): _cleaned(v) for k, v in value.items()}
    return value
