"""Events to wire JSON (reference §3.4), on the exporter's thread; snapshot() takes a value's
JSON form on the caller's (a decorated call's inputs and result, an LLM call's prompt).

Non-JSON values become readable strings (0.3.26 sent ""), pydantic models and dataclasses
become objects, NaN and infinities become null. The fast path is one json.dumps of the whole
batch; only a batch that fails it (NaN, odd keys, cycles) is walked value by value.

Fields the server validates are made valid here, so one careless event can't get its batch
refused: token counts and cost are coerced where the meaning is clear ("12" and 12.0 are 12),
timestamps must parse as ISO 8601 (a datetime is converted); anything else is left out of the
event (None) with a debug log.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from agentops._errors import logger
from agentops._events import END, ENDED, ID, INIT, STARTED, ErrorEvent, Event, Frame, iso_time
from agentops.wire import (
    CACHE_READ_TOKENS,
    CACHE_WRITE_TOKENS,
    MAX_EVENT_COST_USD,
    MAX_EVENT_TOKENS,
    REASONING_TOKENS,
    TRIGGER_EVENT_ID,
    TRIGGER_EVENT_TYPE,
)

MAX_REPR: int = 10_000
_MAX_DEPTH: int = 64
MAX_TOKENS: int = MAX_EVENT_TOKENS
MAX_COST: int = MAX_EVENT_COST_USD
_TOKEN_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    CACHE_READ_TOKENS,
    CACHE_WRITE_TOKENS,
    REASONING_TOKENS,
)


def event_to_wire(event: Event | Frame, session_id: str) -> dict[str, Any]:
    """The wire envelope of one event: every dataclass field, ids as strings, type extras.
    A decorated call's Frame becomes its event here, on the exporter's thread."""
    if event.__class__ is Frame:
        event = event.as_event()
    body = event.__dict__.copy()
    started, ended = body.pop(STARTED, None), body.pop(ENDED, None)
    init, end = body.pop(INIT, None), body.pop(END, None)
    body.pop(ID, None)
    if init is None:  # a subclass that redeclares the field as a plain one keeps it there
        init = body.get("init_timestamp")
    if end is None:
        end = body.get("end_timestamp")
    body["init_timestamp"] = iso_time(started) if init is None and started is not None else init
    body["end_timestamp"] = iso_time(ended) if end is None and ended is not None else end
    etype = body["event_type"]
    if etype.__class__ is not str:
        etype = body["event_type"] = getattr(etype, "value", etype)
    body["id"] = str(event.id)
    body["session_id"] = session_id
    parent = body.get("parent_id")
    if parent is not None:
        body["parent_id"] = str(parent)
    for key in ("init_timestamp", "end_timestamp"):
        stamp = body.get(key)
        if stamp.__class__ is not str or not _is_iso(stamp):
            body[key] = _timestamp(key, stamp)
    if etype == "actions":
        name = body.get("action_type") or body.get("name")
        body["action_type"] = body["name"] = name
    elif etype == "tools":
        name = body.get("name") or body.get("tool_name")
        body["name"] = body["tool_name"] = name
        if body.get("cost") is not None:
            body["cost"] = _cost(body["cost"])
    elif isinstance(event, ErrorEvent):
        body.pop("exception", None)
        if isinstance(event.trigger_event, Event):  # sent as its id and type, below
            body["trigger_event"] = None
        body[TRIGGER_EVENT_ID] = event.trigger_event_id
        body[TRIGGER_EVENT_TYPE] = event.trigger_event_type
    elif etype == "llms":
        for key in _TOKEN_FIELDS:
            count = body.get(key)
            if count is not None and count.__class__ is not int:
                body[key] = _tokens(key, count)
            elif count is not None and not 0 <= count <= MAX_TOKENS:
                _left_out(key, count)
                body[key] = None
        if body.get("cost") is not None:
            body["cost"] = _cost(body["cost"])
    return body


def _left_out(name: str, value: Any) -> None:
    """Log at debug level that a field was left out of an event."""
    logger.debug("event field %s=%s left out: not a valid value", name, _repr(value)[:200])


def _tokens(name: str, value: Any) -> int | None:
    """A token count from an int-like value ("12", 12.0, numpy ints), else None."""
    number: Any = value
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            _left_out(name, value)
            return None
    elif isinstance(value, float):
        number = int(value) if value.is_integer() else None
    elif not isinstance(value, bool) and hasattr(value, "__index__"):
        try:
            number = value.__index__()
        except Exception:
            number = None
    if number.__class__ is not int or not 0 <= number <= MAX_TOKENS:
        _left_out(name, value)
        return None
    return int(number)


def _cost(value: Any) -> float | str | None:
    """The reported cost in USD as a finite amount from 0 to 10**9, else None."""
    if isinstance(value, bool):
        _left_out("cost", value)
        return None
    text = value.strip() if isinstance(value, str) else None
    try:
        number = Decimal(text) if text is not None else Decimal(float(value))
    except (ValueError, TypeError, ArithmeticError):
        _left_out("cost", value)
        return None
    if not number.is_finite() or not 0 <= number <= MAX_COST:
        _left_out("cost", value)
        return None
    return text if text is not None else float(value)


def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _timestamp(name: str, value: Any) -> str | None:
    """A timestamp as ISO 8601 text: datetimes converted, unparsable values left out."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):  # epoch s or ms
        try:
            seconds = value / 1000 if abs(value) > 1e11 else value
            return datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            _left_out(name, value)
            return None
    if isinstance(value, str) and _is_iso(value.strip()):
        return value.strip()
    _left_out(name, value)
    return None


ENCODE_ATTEMPTS = 3
"""Tries at encoding a value the program changes meanwhile (see dumps)."""


def dumps(value: Any) -> bytes:
    """Strict JSON bytes for `value`, whatever it contains.

    Events may hold the program's own objects (an LLMEvent's prompt a user built) and are
    encoded on the SDK's thread: a dict or list the program changes meanwhile makes the
    encoder raise RuntimeError ("changed size during iteration"), which is tried again; a
    value that keeps changing raises it after ENCODE_ATTEMPTS tries."""
    return _text(value).encode("utf-8")


def _text(value: Any) -> str:
    for attempt in range(ENCODE_ATTEMPTS):
        try:
            return _dumps(value)
        except RuntimeError:
            if attempt == ENCODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _dumps(value: Any) -> str:
    try:  # a cycle is a RecursionError here (check_circular=False is faster)
        return json.dumps(
            value, default=to_jsonable, allow_nan=False, check_circular=False, separators=(",", ":")
        )
    except (ValueError, TypeError, RecursionError):
        return json.dumps(sanitize(value), allow_nan=False, separators=(",", ":"))


_PLAIN = frozenset({str, int, float, bool, type(None)})  # NaN: made null when sent, as before


class _NotPlain(Exception):
    """A value _copy() leaves to the encoder."""


def snapshot(value: Any) -> Any:
    """`value` as the JSON it is sent as, taken now: what a decorated call was given or
    returned, or the messages an LLM call sent, as they were at that moment (the program may
    change them before the SDK's thread sends the event). Strings and numbers are kept as
    they are (immutable), dicts and lists of them copied (2-7x faster than encoding them);
    anything else is encoded as the exporter encodes it (same stand-ins, same limits) and
    decoded back. Never raises."""
    if value.__class__ in _PLAIN:
        return value
    try:
        return _copy(value, 0)
    except (_NotPlain, RuntimeError):  # RuntimeError: changed meanwhile (tried again below)
        pass
    try:
        return json.loads(_text(value))
    except Exception:  # changed by another thread on every try: its repr, now
        return _repr(value)


def _copy(value: Any, depth: int) -> Any:
    """A copy of JSON made of dicts (str keys), lists and tuples (as lists), else _NotPlain."""
    cls = value.__class__
    plain = _PLAIN
    if depth >= _MAX_DEPTH:
        raise _NotPlain
    if cls is dict:
        out = {}
        for key, item in value.items():
            if key.__class__ is not str:
                raise _NotPlain
            out[key] = item if item.__class__ in plain else _copy(item, depth + 1)
        return out
    if cls is list or cls is tuple:
        return [item if item.__class__ in plain else _copy(item, depth + 1) for item in value]
    raise _NotPlain


def snapshot_call(args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A decorated call's params, 0.4's {"args": [...], "kwargs": {...}}, as snapshot() takes
    them (nothing to take when every value is a string, a number or None: the usual call)."""
    plain = _PLAIN
    for value in args:
        if value.__class__ not in plain:
            return {"args": snapshot(list(args)), "kwargs": snapshot(kwargs) if kwargs else {}}
    if kwargs:
        for value in kwargs.values():
            if value.__class__ not in plain:
                return {"args": list(args), "kwargs": snapshot(kwargs)}
        return {"args": list(args), "kwargs": dict(kwargs)}
    return {"args": list(args), "kwargs": {}}


def to_jsonable(obj: Any) -> Any:
    """json.dumps' `default`: a JSON-friendly stand-in for an object json can't encode."""
    try:
        return _jsonable(obj)
    except Exception:  # e.g. an object whose __getattr__ raises: its repr will do
        return _repr(obj)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, datetime | date | time):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return float(obj) if obj.is_finite() else None
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, bytes | bytearray):
        return bytes(obj).decode("utf-8", errors="replace")[:MAX_REPR]
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}: {obj}"
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump) and not isinstance(obj, type):
        try:
            dumped = model_dump()
        except Exception:
            dumped = None
        if isinstance(dumped, dict):
            return dumped
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
    return _repr(obj)


def _repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = f"<{type(obj).__name__} (unrepresentable)>"
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + "..."


def sanitize(value: Any, depth: int = 0, path: frozenset[int] = frozenset()) -> Any:
    """`value` made only of JSON types: the slow path for what the fast path refused."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= _MAX_DEPTH or id(value) in path:
        return _repr(value) if depth < _MAX_DEPTH else "<too deep>"
    inner = path | {id(value)}
    if isinstance(value, dict):
        return {_key(k): sanitize(v, depth + 1, inner) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [sanitize(v, depth + 1, inner) for v in value]
    return sanitize(to_jsonable(value), depth + 1, inner)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool | int | float) or key is None:
        return json.dumps(key, allow_nan=True)
    return _repr(key)
