"""OTLP/JSON field values: attributes (AnyValue), int64 and enum numbers, hex ids.

Every reader takes the JSON value and the path it came from, so that a wrong type becomes an
`Undecodable` naming the exact field, e.g. `resourceSpans[0]...spans[3].attributes[2].value`.
"""

from __future__ import annotations

import re
from typing import Any

from agentops_server.ingest.otlp.errors import Undecodable
from agentops_server.ingest.otlp.spans import AttrValue

__all__ = ["attributes", "enum", "hex_id", "int64", "json_type", "string"]

_HEX = re.compile(r"[0-9a-fA-F]*")
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
MAX_VALUE_DEPTH = 64
"""Arrays and kvlists nested in one attribute at most (binary OTLP cannot nest much deeper:
the protobuf decoder's recursion limit is 100 messages, two per level)."""


class _Bad(Exception):
    """A bad AnyValue, with the path below the attribute where it was found."""

    def __init__(self, below: str, problem: str) -> None:
        super().__init__(below, problem)
        self.below = below
        self.problem = problem


def attributes(items: Any, where: str) -> dict[str, AttrValue]:
    """A `[{key, value}]` list (attributes, kvlistValue.values) as a dict; missing -> {}."""
    if items is None:
        return {}
    if type(items) is not list:
        raise Undecodable(f"{where} must be an array of {{key, value}}, got {json_type(items)}")
    out: dict[str, AttrValue] = {}
    for n, item in enumerate(items):
        if type(item) is not dict or type(key := item.get("key")) is not str:
            raise Undecodable(f"{where}[{n}] must be an object with a string key")
        value = item.get("value")
        if value is None:
            out[key] = None
            continue
        if type(value) is dict and type(text := value.get("stringValue")) is str:
            out[key] = text  # the common case, without a call
            continue
        try:
            out[key] = _any(value)
        except _Bad as bad:
            raise Undecodable(f"{where}[{n}].value{bad.below} ({key!r}) {bad.problem}") from None
    return out


def _any(value: Any, depth: int = 0) -> AttrValue:
    if type(value) is not dict:
        raise _Bad("", f"must be an AnyValue object, got {json_type(value)}")
    for name, x in value.items():
        if name == "stringValue":
            if type(x) is str:
                return x
            raise _Bad(".stringValue", f"must be a string, got {json_type(x)}")
        if name == "intValue":
            number: int | None = None
            if type(x) is int:
                number = x
            elif type(x) is str:
                try:
                    number = int(x)
                except ValueError:
                    pass
            elif type(x) is float and x.is_integer():
                number = int(x)
            if number is None:
                raise _Bad(".intValue", f"must be an integer or a decimal string, got {x!r:.60}")
            if not _INT64_MIN <= number <= _INT64_MAX:
                raise _Bad(".intValue", f"is out of the range of a 64-bit integer: {x!r:.60}")
            return number
        if name == "doubleValue":
            if type(x) is float or type(x) is int:
                return float(x)
            if type(x) is str:
                try:
                    return float(x)
                except ValueError:
                    pass
            raise _Bad(".doubleValue", f"must be a number, got {x!r:.60}")
        if name == "boolValue":
            if type(x) is bool:
                return x
            raise _Bad(".boolValue", f"must be true or false, got {x!r:.60}")
        if name in ("arrayValue", "kvlistValue"):
            if depth >= MAX_VALUE_DEPTH:
                raise _Bad(f".{name}", f"nests deeper than {MAX_VALUE_DEPTH} arrays and kvlists")
            return _array(x, depth + 1) if name == "arrayValue" else _kvlist(x, depth + 1)
        if name == "bytesValue":
            if type(x) is str:
                return x  # base64 already, as the records keep it
            raise _Bad(".bytesValue", f"must be a base64 string, got {json_type(x)}")
    return None  # {} or only unknown fields: an empty AnyValue


def _array(x: Any, depth: int) -> list[AttrValue]:
    if type(x) is not dict:
        raise _Bad(".arrayValue", f"must be an object {{values: [...]}}, got {json_type(x)}")
    values = x.get("values")
    if values is None:
        return []
    if type(values) is not list:
        raise _Bad(".arrayValue.values", f"must be an array, got {json_type(values)}")
    out: list[AttrValue] = []
    for j, item in enumerate(values):
        try:
            out.append(_any(item, depth))
        except _Bad as bad:
            raise _Bad(f".arrayValue.values[{j}]{bad.below}", bad.problem) from None
    return out


def _kvlist(x: Any, depth: int) -> dict[str, AttrValue]:
    if type(x) is not dict:
        raise _Bad(".kvlistValue", f"must be an object {{values: [...]}}, got {json_type(x)}")
    values = x.get("values")
    if values is None:
        return {}
    if type(values) is not list:
        raise _Bad(".kvlistValue.values", f"must be an array, got {json_type(values)}")
    out: dict[str, AttrValue] = {}
    for j, item in enumerate(values):
        if type(item) is not dict or type(key := item.get("key")) is not str:
            raise _Bad(f".kvlistValue.values[{j}]", "must be an object with a string key")
        value = item.get("value")
        try:
            out[key] = None if value is None else _any(value, depth)
        except _Bad as bad:
            raise _Bad(f".kvlistValue.values[{j}].value{bad.below}", bad.problem) from None
    return out


def int64(value: Any, where: str) -> int:
    """An int64/fixed64 field: a decimal string or a JSON number; missing -> 0. Values that
    fit neither (below -2**63, from 2**64 up) are refused, as a protobuf decoder would."""
    if value is None:
        return 0
    number: int | None = None
    if type(value) is int:
        number = value
    elif type(value) is str:
        try:
            number = int(value)
        except ValueError:
            pass
    elif type(value) is float and value.is_integer():
        number = int(value)
    if number is None:
        raise Undecodable(f"{where} must be an integer or a decimal string, got {value!r:.60}")
    if not _INT64_MIN <= number <= _UINT64_MAX:
        raise Undecodable(f"{where} is out of the range of a 64-bit integer: {value!r:.60}")
    return number


def enum(value: Any, where: str, names: dict[str, int]) -> int:
    """An enum field: an integer as OTLP/JSON requires (the proto name is also accepted)."""
    if value is None:
        return 0
    if type(value) is int:
        return value
    if type(value) is str and value in names:
        return names[value]
    raise Undecodable(f"{where} must be an integer enum value, got {value!r:.60}")


def string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return value
    raise Undecodable(f"{where} must be a string, got {json_type(value)}")


def hex_id(value: Any, where: str, digits: int) -> str | None:
    """A trace or span id: hex (any case) -> lowercase; missing, empty or all-zero -> None."""
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise Undecodable(f"{where} must be a string of hex digits, got {json_type(value)}")
    is_hex = _HEX.fullmatch(value) is not None
    if len(value) != digits or not is_hex:
        hint = "" if is_hex else " (OTLP/JSON ids are hex, not base64)"
        raise Undecodable(f"{where} must be {digits} hex digits{hint}, got {value!r:.60}")
    lowered = value.lower()
    return None if lowered.count("0") == digits else lowered


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "a boolean"
    if type(value) is int or type(value) is float:
        return "a number"
    if type(value) is str:
        return "a string"
    if type(value) is list:
        return "an array"
    return "an object"
