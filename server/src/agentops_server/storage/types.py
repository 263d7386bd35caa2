"""Column types that behave the same on SQLite and PostgreSQL.

UTCDateTime: aware UTC in and out (timestamptz on PostgreSQL, fixed-width text on SQLite, so
text order is time order). JsonDoc: JSONB on PostgreSQL, compact JSON text on SQLite.
DecimalText: exact decimals as text (SQLite has no exact numeric type).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes only; stored and returned as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: storage needs aware UTC timestamps")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def dumps(value: Any) -> str:
    """Compact, standard JSON (both engines, transfer files). NaN and infinities, which JSON
    and JSONB reject but the 0.3 client sends, become null; NUL characters, which PostgreSQL
    cannot store, become U+FFFD (ingest's body readers drop them before: this is for what
    reaches storage by other paths).

    orjson does the common case (several times faster than the stdlib, same JSON); what it
    refuses (integers past 64 bits, non-string keys, lone surrogates) goes to the stdlib."""
    text = _encode(value)
    # an escaped NUL, or a backslash followed by "u0000" in the text itself (rare: re-check)
    if "\\u0000" in text:
        text = _encode(_without_nul(value))
    return text


def _encode(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_PASSTHROUGH).decode()
    except TypeError:  # orjson.JSONEncodeError
        try:
            return _STRICT.encode(value)
        except ValueError:
            return _STRICT.encode(_finite(value))


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_STRICT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class JsonDoc(TypeDecorator[Any]):
    """A JSON document: JSONB on PostgreSQL, TEXT on SQLite."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return dumps(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.loads(value)


class DecimalText(TypeDecorator[Decimal]):
    """An exact Decimal kept as its text form."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
