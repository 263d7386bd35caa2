"""Lenient readers for attribute values: an odd type degrades to None, never raises.

One strange attribute from an instrumentation must not lose the span it sits on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

import orjson

from agentops_server.ingest.otlp.spans import AttrValue
from agentops_server.remembered import Remembered

__all__ = [
    "count",
    "decoded",
    "decoded_container",
    "first_count",
    "first_text",
    "money",
    "scalar_text",
    "string_list",
    "text",
]

_MAX_MONEY = 10_000
_MONEY: Remembered[float, Decimal] = Remembered(_MAX_MONEY)
"""Reported costs already read (a tool's cost repeats on each of its spans)."""


def text(value: AttrValue) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def first_text(attrs: Mapping[str, AttrValue], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def count(value: AttrValue) -> int | None:
    """A token count: a non-negative int (not a bool, float or string), else None."""
    if type(value) is int and value >= 0:
        return value
    return None


def first_count(attrs: Mapping[str, AttrValue], keys: tuple[str, ...]) -> int | None:
    """The first usable count among `keys`, in order of preference."""
    for key in keys:
        if key in attrs:
            found = count(attrs[key])
            if found is not None:
                return found
    return None


def money(value: AttrValue) -> Decimal | None:
    """A reported cost: a finite, non-negative number, exact as written in decimal."""
    if type(value) is int and value >= 0:
        return Decimal(value)
    if type(value) is float and math.isfinite(value) and value >= 0:
        found = _MONEY.get(value)
        if found is None:
            found = Decimal(repr(value))  # 0.01, not 0.01000000000000000020816681711721685...
            if value:  # 0.0 and -0.0 are one key but two Decimals
                _MONEY.keep(value, found)
        return found
    return None


def decoded(value: AttrValue) -> AttrValue:
    """A JSON string parsed when it is valid JSON and nests at most MAX_DECODED_DEPTH
    arrays and objects deep (deeper ones, which no encoder downstream would take, stay the
    string they came as); anything else as it is."""
    if isinstance(value, str) and value:
        try:
            parsed: AttrValue = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
        if (
            value.count("[") + value.count("{") > MAX_DECODED_DEPTH
            and _depth(parsed) > MAX_DECODED_DEPTH
        ):
            return value
        return parsed
    return value


MAX_DECODED_DEPTH = 128


def _depth(value: AttrValue) -> int:
    """How many arrays and objects deep `value` nests (0 for a scalar), without recursion."""
    deepest = 0
    level: list[AttrValue] = [value]
    while level:
        containers = [v for v in level if isinstance(v, list | dict)]
        if not containers:
            break
        deepest += 1
        level = [item for c in containers for item in (c.values() if isinstance(c, dict) else c)]
    return deepest


def decoded_container(value: AttrValue) -> AttrValue:
    """Like `decoded`, but only JSON objects and arrays: "42" stays the string "42"."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        return decoded(value)
    return value


def string_list(value: AttrValue) -> tuple[str, ...]:
    """Tags: a string array, a JSON-string array, or one plain string."""
    if isinstance(value, str):
        parsed = decoded_container(value)
        if not isinstance(parsed, list):
            return (value,) if value else ()
        value = parsed
    if isinstance(value, list):
        return tuple(scalar_text(item) for item in value if item is not None and item != "")
    return ()


def scalar_text(value: AttrValue) -> str:
    """A value as tag or label text: strings as they are, true/false, JSON for containers."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return orjson.dumps(value).decode()
