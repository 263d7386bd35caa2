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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentops.wire import EventType

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


os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


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
STARTED = "_started"
"""Where an event keeps the time.time() of its creation until init_timestamp is read."""
ENDED = "_ended"
"""Where an event keeps the time.time() of its end (end_stamp) until end_timestamp is read."""


class _LazyId:
    """`Event.id`: made on first read (usually on the exporter's thread), not at creation:
    creating and recording an event is on the agent's path (issue: <= 2 us per event).
    Kept in the instance's __dict__ under the field's own name, as a plain field would be."""

    def __get__(self, event: Event | None, owner: type) -> Any:
        if event is None:
            return None  # the dataclass default: None means "make one"
        found = event.__dict__.get("id")
        if found is None:  # setdefault: two threads reading it first agree on one id
            found = event.__dict__.setdefault("id", new_id())
        return found

    def __set__(self, event: Event, value: Any) -> None:
        if value is None:
            event.__dict__.pop("id", None)
        else:
            event.__dict__["id"] = value


class _LazyStamp:
    """`init_timestamp` and `end_timestamp`: an ISO-8601 string when read, but what is kept
    at creation (init) or at record() (end) is time.time(), formatted on first read."""

    def __init__(self, name: str, pending: str, now_when_none: bool) -> None:
        self._name = name
        self._pending = pending
        self._now_when_none = now_when_none

    def __get__(self, event: Event | None, owner: type) -> Any:
        if event is None:
            return None
        values = event.__dict__
        found = values.get(self._name)
        if found is None:
            when = values.get(self._pending)
            if when is not None:
                found = values[self._name] = iso_time(when)
        return found

    def __set__(self, event: Event, value: Any) -> None:
        values = event.__dict__
        if value is None:
            values.pop(self._name, None)
            if self._now_when_none:
                values[self._pending] = _time()
            else:
                values.pop(self._pending, None)
        else:
            values[self._name] = value


def end_now(event: Event) -> None:
    """Set `event`'s end to now (formatted when read), replacing any end it had."""
    values = event.__dict__
    values.pop("end_timestamp", None)
    values[ENDED] = _time()


def end_stamp(event: Event) -> None:
    """Mark `event` ended now (its end_timestamp, formatted when read), unless it has an end."""
    values = event.__dict__
    if values.get("end_timestamp") is None and ENDED not in values:
        values[ENDED] = _time()


@dataclass
class Event:
    """Base of every event. `id` is the idempotency key: the server stores each id once.

    `id`, `init_timestamp` and `end_timestamp` read as usual; unless given, the id is made
    and the times formatted when first read (see _LazyId, _LazyStamp)."""

    event_type: str
    params: dict[str, Any] | None = None
    returns: Any = None
    init_timestamp: str = _LazyStamp("init_timestamp", STARTED, now_when_none=True)  # type: ignore[assignment]
    end_timestamp: str | None = _LazyStamp("end_timestamp", ENDED, now_when_none=False)  # type: ignore[assignment]
    agent_id: uuid.UUID | str | None = field(default_factory=current_agent_id)
    id: uuid.UUID = _LazyId()  # type: ignore[assignment]
    session_id: uuid.UUID | None = None
    parent_id: uuid.UUID | str | None = field(default_factory=current_parent_id)

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles are the same event: its id is made now if it was not yet."""
        _ = self.id
        return self.__dict__


@dataclass
class ActionEvent(Event):
    """Something the agent did: `action_type` is its name (sent as both action_type and name)."""

    event_type: str = EventType.ACTION.value
    action_type: str | None = None
    logs: str | Sequence[Any] | None = None
    screenshot: str | None = None


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


@dataclass
class ToolEvent(Event):
    """A tool call: `name` is the tool (sent as both name and tool_name)."""

    event_type: str = EventType.TOOL.value
    name: str | None = None
    logs: str | dict[str, Any] | None = None
    cost: float | None = None  # USD, added to the session's cost (agentops 0.4 @tool(cost=))


@dataclass
class ErrorEvent(Event):
    """An error, optionally linked to the event that failed (sent as trigger_event_id/_type).

    With `exception` set, error_type, details and logs (the traceback) are filled from it.
    """

    event_type: str = EventType.ERROR.value
    trigger_event: Event | None = None
    exception: BaseException | None = None
    error_type: str | None = None
    code: str | None = None
    details: str | dict[str, Any] | None = None
    logs: str | None = None

    def __post_init__(self) -> None:
        exc = self.exception
        if exc is not None:
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


_id_lock = threading.Lock()


class Frame:
    """One decorated call (agentops 0.4 decorators), captured cheaply on the caller's thread:
    its inputs, result and times as given, its parent as a reference. The exporter's thread
    turns it into its Event (as_event): ids, timestamps and params are built there, off the
    caller's path. Its id is made on first use (a child reading it, or the exporter)."""

    __slots__ = (
        "_id",
        "agent_id",
        "args",
        "cost",
        "ended",
        "event_type",
        "kwargs",
        "name",
        "parent",
        "raised",
        "result",
        "session",
        "skip_self",
        "started",
    )

    def __init__(
        self,
        event_type: str,
        name: str,
        cost: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        skip_self: bool,
        parent: Frame | None,
        session: Any,
    ) -> None:
        self.event_type, self.name, self.cost = event_type, name, cost
        self.args, self.kwargs, self.skip_self = args, kwargs, skip_self
        self.parent, self.session = parent, session
        self.agent_id: str | None = _current_agent.get()
        self.started = time.time()
        self.ended: float | None = None
        self.result: Any = None
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
        args = self.args[1:] if self.skip_self else self.args
        common: dict[str, Any] = {
            "params": {"args": list(args), "kwargs": self.kwargs},
            "returns": self.result,
            "init_timestamp": iso_time(self.started),
            "end_timestamp": None if self.ended is None else iso_time(self.ended),
            "agent_id": self.agent_id,
            "id": self.id,
            "parent_id": None if self.parent is None else self.parent.id,
        }
        if self.event_type == EventType.TOOL.value:
            return ToolEvent(name=self.name, cost=self.cost, **common)
        return ActionEvent(action_type=self.name, **common)
