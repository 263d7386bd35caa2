"""Event dataclasses, field-compatible with agentops 0.3.26 (plus the wire.py extensions).

Creating an event is cheap on purpose: the agent id comes from a context variable set by
@track_agent (0.3.26 walked inspect.stack() for it, ~0.8 ms per event), timestamps from a
per-second cached prefix. Serialization happens later, on the exporter's thread.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from agentops.wire import EventType

_E = TypeVar("_E", bound="Event")
_current_agent: ContextVar[str | None] = ContextVar("agentops_current_agent", default=None)


# Events created while a frame is current are its children (parent_id).
_current_parent: ContextVar[Frame | None] = ContextVar("agentops_current_parent", default=None)
_second_prefix: tuple[int, str] = (-1, "")
# Event ids: random version-4 UUIDs from a private generator seeded by the OS (a user's
# random.seed() can't make ids repeat; reseeded in forked children). 4x faster than uuid4().
_random = random.Random(os.urandom(32))
_getrandbits = _random.getrandbits
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)
_new_uuid = object.__new__
_set = object.__setattr__
_SAFE = uuid.SafeUUID.unknown


def new_id() -> uuid.UUID:
    """A random (version 4) UUID."""
    value = _new_uuid(uuid.UUID)
    _set(value, "int", (_getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)
    _set(value, "is_safe", _SAFE)
    return value


# Makes a Frame's lazy id once. Reentrant: the SIGTERM handler reads the ids of the calls
# still running, and may interrupt the main thread while it holds the lock.
_id_lock = threading.RLock()


def _after_fork_in_child() -> None:
    global _id_lock
    _random.seed(os.urandom(32))
    _id_lock = threading.RLock()  # another thread may have held it at fork time


os.register_at_fork(after_in_child=_after_fork_in_child)


def get_ISO_time() -> str:
    """Now as ISO-8601 UTC with microseconds, e.g. 2025-01-24T12:36:31.832889+00:00."""
    return iso_time(time.time())


def iso_time(now: float) -> str:
    """A time.time() value as get_ISO_time() writes it."""
    global _second_prefix
    second = int(now)
    cached_second, prefix = _second_prefix
    if second != cached_second:
        prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second_prefix = (second, prefix)
    return f"{prefix}.{int((now - second) * 1_000_000):06d}+00:00"


def current_agent_id() -> str | None:
    """The id of the @track_agent agent whose method is running in this context, if any."""
    return _current_agent.get()


def current_parent_id() -> uuid.UUID | None:
    """The id of the decorated call running in this context (the parent of new events)."""
    frame = _current_parent.get()
    return frame.id if frame is not None else None


_time = time.time
# Where an event keeps its id and times: plain instance attributes, so that creating and
# recording one stores plain attributes only (no descriptor call, no instance dict made).
ID = "_id"
"""The id given or made (absent until `id` is first read)."""
INIT = "_init_timestamp"
"""The init_timestamp given, or formatted from STARTED when first read."""
STARTED = "_started"
"""time.time() when the event was created."""
END = "_end_timestamp"
"""The end_timestamp given, or formatted from ENDED when first read."""
ENDED = "_ended"
"""time.time() when the event ended (record(), end_now()), or None."""


class _LazyId:
    """`Event.id`: made on first read (usually on the exporter's thread), not at creation:
    creating and recording an event is on the agent's path (issue 15: <= 2 us per event).
    Once read, it is the id sent and stored. Kept in the event's `_id`, absent until then."""

    def __get__(self, event: Event | None, owner: type) -> Any:
        if event is None:
            return None  # the dataclass default: None means "make one"
        values = event.__dict__
        value = values.get(ID)
        if value is None:  # setdefault, atomic: two threads (or a signal handler) agree
            value = values.setdefault(ID, new_id())
        return value

    def __set__(self, event: Event, value: Any) -> None:
        if value is None:  # a new one is made when next read
            event.__dict__.pop(ID, None)
        else:
            event.__dict__[ID] = value


class _LazyStamp:
    """`init_timestamp` and `end_timestamp`: an ISO-8601 string when read, but what is kept
    at creation (init) or at record() (end) is time.time(), formatted on first read."""

    def __init__(self, given: str, clock: str, now_when_none: bool) -> None:
        self._given = given
        self._clock = clock
        self._now_when_none = now_when_none

    def __get__(self, event: Event | None, owner: type) -> Any:
        if event is None:
            return None
        value = getattr(event, self._given, None)
        if value is None:
            when = getattr(event, self._clock, None)
            if when is not None:
                value = iso_time(when)
                setattr(event, self._given, value)
        return value

    def __set__(self, event: Event, value: Any) -> None:
        setattr(event, self._given, value)
        if value is None:  # init: now; end: no end
            setattr(event, self._clock, _time() if self._now_when_none else None)


def end_now(event: Event) -> None:
    """Set `event`'s end to now (formatted when read), replacing any end it had."""
    stored: Any = event  # ID, INIT, STARTED, END, ENDED are not fields: mypy doesn't know them
    stored._end_timestamp = None
    stored._ended = _time()


def end_stamp(event: Event) -> None:
    """Mark `event` ended now (its end_timestamp, formatted when read), unless it has an end."""
    stored: Any = event
    if stored._end_timestamp is None and stored._ended is None:
        stored._ended = _time()


class _Factory:
    """The default of a field made by its default_factory (shown as dataclasses shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _plain_init(cls: type[_E]) -> type[_E]:
    """Give an event dataclass an __init__ with the dataclass's signature that stores plain
    attributes only: the dataclass one set id, init_timestamp and end_timestamp through
    _LazyId/_LazyStamp.__set__, about 40% of the cost of creating an event. A user's
    @dataclass subclass gets a dataclass __init__ again, which goes through them (correct)."""
    names: dict[str, Any] = {"_FACTORY": _FACTORY, "_time": _time}
    stored = {"init_timestamp": INIT, "end_timestamp": END}
    params, lines = ["self"], []
    for f in fields(cls):
        assert f.init and not f.kw_only, f"{cls.__name__}.{f.name}: not supported here"
        name = f.name
        if f.default_factory is not MISSING:
            names[f"_factory_{name}"] = f.default_factory
            params.append(f"{name}=_FACTORY")
            value = f"_factory_{name}() if {name} is _FACTORY else {name}"
        elif f.default is not MISSING:
            names[f"_default_{name}"] = f.default
            params.append(f"{name}=_default_{name}")
            value = name
        else:
            params.append(name)
            value = name
        if name == "id":  # absent until given or read (see _LazyId)
            lines.append(f"    if id is not None:\n        self.{ID} = id")
        else:
            lines.append(f"    self.{stored.get(name, name)} = {value}")
        if name == "init_timestamp":
            lines.append(f"    self.{STARTED} = _time()")  # the time of creation
        elif name == "end_timestamp":
            lines.append(f"    self.{ENDED} = None")
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    exec("\n".join([f"def __init__({', '.join(params)}):", *lines]), names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@_plain_init
@dataclass
class Event:
    """Base of every event. `id` is the idempotency key: the server stores each id once.

    `id`, `init_timestamp` and `end_timestamp` read as usual; unless given, the id is made
    and the times formatted when first read (see _LazyId, _LazyStamp)."""

    event_type: str
    params: dict[str, Any] | None = None
    returns: Any = None
    init_timestamp: str = _LazyStamp(INIT, STARTED, now_when_none=True)  # type: ignore[assignment]
    end_timestamp: str | None = _LazyStamp(END, ENDED, now_when_none=False)  # type: ignore[assignment]
    agent_id: uuid.UUID | str | None = field(default_factory=_current_agent.get)
    id: uuid.UUID = _LazyId()  # type: ignore[assignment]
    session_id: uuid.UUID | None = None
    parent_id: uuid.UUID | str | None = field(default_factory=current_parent_id)

    # Where the times are kept (INIT, STARTED, END, ENDED), for an event made without our
    # __init__ (a subclass's own that does not call it): record() reads them as before; not
    # fields, as they are not annotated.
    _init_timestamp = _started = _end_timestamp = _ended = None

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles are the same event: its id is made now if it was not yet."""
        _ = self.id
        return self.__dict__


@_plain_init
@dataclass
class ActionEvent(Event):
    """Something the agent did: `action_type` is its name (sent as both action_type and name)."""

    event_type: str = EventType.ACTION.value
    action_type: str | None = None
    logs: str | Sequence[Any] | None = None
    screenshot: str | None = None


@_plain_init
@dataclass
class LLMEvent(Event):
    """One LLM call. prompt_tokens include cached tokens; completion_tokens include reasoning."""

    event_type: str = EventType.LLM.value
    thread_id: uuid.UUID | None = None
    prompt: str | list[Any] | None = None
    prompt_tokens: int | None = None
    completion: str | dict[str, Any] | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    model: str | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    provider: str | None = None


@_plain_init
@dataclass
class ToolEvent(Event):
    """A tool call: `name` is the tool (sent as both name and tool_name)."""

    event_type: str = EventType.TOOL.value
    name: str | None = None
    logs: str | dict[str, Any] | None = None
    cost: float | None = None  # USD, added to the session's cost (agentops 0.4 @tool(cost=))


def _text(value: object) -> str:
    """str(value), or its type's name when that fails."""
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


@_plain_init
@dataclass
class ErrorEvent(Event):
    """An error, optionally linked to the event that failed (sent as trigger_event_id/_type).

    With `exception` set, error_type, details and logs (the traceback) are filled from it;
    one that is not an exception (0.3.26 took a message string) fills details only.
    """

    event_type: str = EventType.ERROR.value
    trigger_event: Event | None = None
    exception: BaseException | None = None
    error_type: str | None = None
    code: str | None = None
    details: str | dict[str, Any] | None = None
    logs: str | None = None

    def __post_init__(self) -> None:
        exc: object = self.exception
        if exc is not None and not isinstance(exc, BaseException):  # 0.3.26 took a string
            self.details = self.details or _text(exc)
            self.exception = None
        elif isinstance(exc, BaseException):
            self.error_type = self.error_type or type(exc).__name__
            self.details = self.details or str(exc)
            if self.logs is None:
                self.logs = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.exception = None
        elif self.logs is None and sys.exc_info()[1] is not None:
            self.logs = traceback.format_exc()
        end_stamp(self)

    @property
    def timestamp(self) -> str:
        """0.3's alias of init_timestamp."""
        return self.init_timestamp

    @property
    def trigger_event_id(self) -> str | None:
        """The id of `trigger_event` (None unless it is an Event)."""
        trigger = self.trigger_event
        return str(trigger.id) if isinstance(trigger, Event) else None

    @property
    def trigger_event_type(self) -> str | None:
        trigger = self.trigger_event
        if not isinstance(trigger, Event):
            return None
        return str(getattr(trigger.event_type, "value", trigger.event_type))


class Frame:
    """One decorated call (agentops 0.4 decorators), captured on the caller's thread: its
    params and result as JSON taken when given (snapshot(): the program may change them
    later), its times, its parent as a reference. The exporter's thread turns it into its
    Event (as_event). Its id is made on first use (a child reading it, or the exporter)."""

    __slots__ = (
        "_id",
        "agent_id",
        "cost",
        "ended",
        "event_type",
        "name",
        "params",
        "parent",
        "raised",
        "returns",
        "session",
        "started",
    )

    def __init__(
        self,
        event_type: str,
        name: str,
        cost: Any,
        params: dict[str, Any] | None,
        parent: Frame | None,
        session: Any,
    ) -> None:
        self.event_type, self.name, self.cost, self.params = event_type, name, cost, params
        self.parent, self.session = parent, session
        self.agent_id: str | None = _current_agent.get()
        self.started = time.time()
        self.ended: float | None = None
        self.returns: Any = None
        self.raised: BaseException | None = None  # the exception a child recorded
        self._id: uuid.UUID | None = None

    @property
    def id(self) -> uuid.UUID:
        value = self._id
        if value is None:
            with _id_lock:  # the caller's and the exporter's thread may both ask first
                value = self._id
                if value is None:
                    value = self._id = new_id()
        return value

    def as_event(self) -> Event:
        """The event recording this call."""
        common: dict[str, Any] = {
            "params": self.params,
            "returns": self.returns,
            "init_timestamp": iso_time(self.started),
            "end_timestamp": None if self.ended is None else iso_time(self.ended),
            "agent_id": self.agent_id,
            "id": self.id,
            "parent_id": None if self.parent is None else self.parent.id,
        }
        if self.event_type == EventType.TOOL.value:
            return ToolEvent(name=self.name, cost=self.cost, **common)
        return ActionEvent(action_type=self.name, **common)
