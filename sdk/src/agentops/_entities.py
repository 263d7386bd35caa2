"""agentops 0.4's decorators: agent, task/operation, workflow, guardrail, tool, trace/session.

Each decorated call is one event, nested under the decorated call that made it (parent_id,
through a context variable: asyncio tasks and copy_context() inherit it, new threads start
without one, as with 0.4's OpenTelemetry context). Its params are 0.4's
{"args": [...], "kwargs": {...}}, its returns the result, both as they were at the call (taken
on the caller's thread), its timestamps the call's. It belongs to the trace current where it
starts (a trace started inside a call takes the calls made within it), else to its parent's;
a call still running when its trace ends is recorded in it all the same. An exception is
recorded once, as an error event triggered by the deepest call it went through (an LLM call
included; one raised by a trace's body itself is the trace's, untriggered), and reaches the
caller unchanged. Sync and async functions, generators and async
generators are all wrapped; without a running session the function simply runs.
"""

from __future__ import annotations

import functools
import inspect
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, overload

from agentops import _recording, _running
from agentops._client import Client, get_client
from agentops._encode import snapshot, snapshot_call
from agentops._errors import failure_reason, report_internal_error
from agentops._events import ErrorEvent, Frame, _current_agent, _current_parent, new_id
from agentops._traces import tag_list
from agentops.wire import EndState, EventType

if TYPE_CHECKING:
    from agentops._session import Session

F = TypeVar("F", bound=Callable[..., Any])
_INSTANCE = "_agentops_instance"


class Instance(NamedTuple):
    """What a decorated class keeps on each instance: plain data, so the object still copies
    and pickles (a pydantic model's model_copy(deep=True) too). `id` is its event's id, and
    for @agent its agent id; `session_id` the session its event went to (None: none ran)."""

    id: uuid.UUID
    name: str
    session_id: uuid.UUID | None


class _Spec:
    """What one decorated function records, built once at decoration time."""

    __slots__ = ("cost", "event_type", "is_agent", "kind", "name", "skip_self")

    def __init__(self, kind: str, name: str, cost: Any, skip_self: bool) -> None:
        self.kind, self.name, self.cost, self.skip_self = kind, name, cost, skip_self
        self.is_agent = kind == "agent"
        self.event_type = EventType.TOOL.value if kind == "tool" else EventType.ACTION.value


def _session_for(parent: Frame | None) -> Session | None:
    """Where a call starting now is recorded: the trace current in this context (one started
    inside the parent call takes the calls made within it), else the parent call's, else the
    only running one."""
    session = _recording.context_session()
    if session is not None and session.is_running:
        return session
    if parent is not None and parent.session.is_running:
        return parent.session  # type: ignore[no-any-return]
    return _recording.current_session()


def _begin(spec: _Spec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Frame | None:
    """The frame of a call starting now, or None when there is no session to record it to.
    Its params are taken now: what the caller changes later is not what it was given."""
    try:
        parent = _current_parent.get()
        session = _session_for(parent)
        if session is None:
            return None
        if parent is not None and parent.session is not session:
            parent = None  # in another trace: this call is a root of its own
        params = snapshot_call(args[1:] if spec.skip_self else args, kwargs)
        frame = Frame(spec.event_type, spec.name, spec.cost, params, parent, session)
        if spec.is_agent:
            frame.agent_id = agent_id = str(frame.id)
            session.create_agent(spec.name, agent_id)
        _running.start(frame)
        return frame
    except Exception as exc:
        report_internal_error(exc, "decorator")
        return None


def _agent_id(frame: Frame) -> str | None:
    return frame.agent_id


def _end(frame: Frame, result: Any) -> None:
    """Queue the finished call (its result taken now); its event is built on the exporter's
    thread. Recorded even when its session ended while it ran (not again after a signal
    recorded it)."""
    try:
        if not _running.stop(frame):
            return
        frame.returns = snapshot(result)
        frame.ended = time.time()
        frame.session.record_call(frame)
    except Exception as exc:
        report_internal_error(exc, "decorator")


def _fail(frame: Frame, exc: BaseException) -> None:
    """Record the failed call; the error only if no call inside (decorated, or an LLM call)
    recorded it. Recorded even when its session ended while it ran (not again after a
    signal recorded it)."""
    try:
        if not _running.stop(frame):
            return
        frame.ended = time.time()
        event = frame.as_event()
        session = frame.session
        session.record_call(event)
        parent = _current_parent.get()
        if isinstance(exc, Exception):
            if frame.raised is not exc:
                error = ErrorEvent(trigger_event=event, exception=exc)
                error.parent_id = event.id
                session.record_call(error)
            _recording.note_error(session, exc)
        if parent is not None:
            parent.raised = exc
    except Exception as internal:
        report_internal_error(internal, "decorator failure")


def _call(spec: _Spec, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        frame = _begin(spec, args, kwargs)
        if frame is None:
            return func(*args, **kwargs)
        token = _current_parent.set(frame)
        agent = _current_agent.set(_agent_id(frame)) if spec.is_agent else None
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            _reset(token, agent)
            _fail(frame, exc)
            raise
        _reset(token, agent)
        _end(frame, result)
        return result

    return wrapper


def _async_call(spec: _Spec, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        frame = _begin(spec, args, kwargs)
        if frame is None:
            return await func(*args, **kwargs)
        token = _current_parent.set(frame)
        agent = _current_agent.set(_agent_id(frame)) if spec.is_agent else None
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            _reset(token, agent)
            _fail(frame, exc)
            raise
        _reset(token, agent)
        _end(frame, result)
        return result

    return wrapper


def _reset(token: Any, agent: Any) -> None:
    try:
        _current_parent.reset(token)
        if agent is not None:
            _current_agent.reset(agent)
    except ValueError:  # made in another context: leave this one clean
        _current_parent.set(None)


class _Steps:
    """What a decorated generator does around its steps: `start` (at its first step) gives
    the state, or None to run the generator untouched; `enter(state)` makes it current for a
    step and returns what `leave` takes to undo that; `finish(state, exc)` ends it, with the
    exception that ended the generator (None when exhausted or closed)."""

    def __init__(
        self,
        start: Callable[[tuple[Any, ...], dict[str, Any]], Any],
        enter: Callable[[Any], Any],
        leave: Callable[[Any], None],
        finish: Callable[[Any, BaseException | None], None],
    ) -> None:
        self.start, self.enter, self.leave, self.finish = start, enter, leave, finish


def _stepped_generator(steps: _Steps, func: Callable[..., Any]) -> Callable[..., Any]:
    """Each step of the generator runs with its state current; `send` and `throw` reach it."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        state = steps.start(args, kwargs)
        if state is None:
            return (yield from func(*args, **kwargs))
        inner = func(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                undo = steps.enter(state)
                try:
                    item = inner.send(sent) if thrown is None else inner.throw(thrown)
                finally:
                    steps.leave(undo)
                thrown = None
                try:
                    sent = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:  # thrown into us: into the inner generator
                    thrown, sent = exc, None
        except StopIteration as stop:
            steps.finish(state, None)
            return stop.value
        except GeneratorExit:
            inner.close()
            steps.finish(state, None)
            raise
        except BaseException as exc:
            steps.finish(state, exc)
            raise

    return wrapper


def _stepped_async_generator(steps: _Steps, func: Callable[..., Any]) -> Callable[..., Any]:
    """As _stepped_generator (without a state, asend() and athrow() still reach it)."""

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        state = steps.start(args, kwargs)
        inner = func(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                undo = steps.enter(state) if state is not None else None
                try:
                    if thrown is None:
                        item = await inner.asend(sent)
                    else:
                        item = await inner.athrow(thrown)
                finally:
                    if state is not None:
                        steps.leave(undo)
                thrown = None
                try:
                    sent = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    thrown, sent = exc, None
        except StopAsyncIteration:
            if state is not None:
                steps.finish(state, None)
        except GeneratorExit:
            await inner.aclose()
            if state is not None:
                steps.finish(state, None)
            raise
        except BaseException as exc:
            if state is not None:
                steps.finish(state, exc)
            raise

    return wrapper


def _entity_steps(spec: _Spec) -> _Steps:
    """A decorated generator's event: its frame is the parent of what each step records."""

    def finish(frame: Frame, exc: BaseException | None) -> None:
        if exc is None:
            _end(frame, None)
        else:
            _fail(frame, exc)

    return _Steps(
        lambda args, kwargs: _begin(spec, args, kwargs),
        _current_parent.set,
        lambda token: _reset(token, None),
        finish,
    )


def _generator(spec: _Spec, func: Callable[..., Any]) -> Callable[..., Any]:
    """Each step of the generator runs with its frame current; the event ends with it."""
    return _stepped_generator(_entity_steps(spec), func)


def _async_generator(spec: _Spec, func: Callable[..., Any]) -> Callable[..., Any]:
    """As _generator: each step runs with its frame current (none without a session)."""
    return _stepped_async_generator(_entity_steps(spec), func)


def _trace_call(name: str, tags: Any, func: Callable[..., Any]) -> Callable[..., Any]:
    """@trace / @session: each call is a trace (a session) of its own."""

    def begin() -> Any:
        client = get_client()
        if not isinstance(client, Client):
            return None
        session = client.start_session(tag_list(tags), name=name)
        if session is None:
            return None
        return session, _recording.set_current(session)

    def end(started: Any, exc: BaseException | None) -> None:
        session, token = started
        _recording.reset_current(token)  # the end is queued: the call never waits for the server
        if exc is not None:
            _trace_error(session, exc)
        if exc is None:
            session.end_queued(EndState.SUCCESS)
        else:  # as 0.4.21 ends it, with the exception as the reason
            session.end_queued(EndState.INDETERMINATE, failure_reason(exc))

    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        # the session starts at the first step, is current during each step (not in the
        # consumer's code between them), and ends when the generator is exhausted or closed
        # (Success) or raises
        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            caller = _recording.context_session()
            started = begin()
            if started is None:
                return None
            session, token = started
            _recording.reset_current(token)
            _recording.set_current(caller)  # starting a session made it current: undone
            return session

        def finish(session: Any, exc: BaseException | None) -> None:
            end((session, _recording.set_current(session)), exc)

        steps = _Steps(start, _recording.set_current, _recording.reset_current, finish)
        if inspect.isasyncgenfunction(func):
            return _stepped_async_generator(steps, func)
        return _stepped_generator(steps, func)
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            started = begin()
            if started is None:
                return await func(*args, **kwargs)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                end(started, exc)
                raise
            end(started, None)
            return result

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = begin()
        if started is None:
            return func(*args, **kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            end(started, exc)
            raise
        end(started, None)
        return result

    return wrapper


def _trace_error(session: Session, exc: BaseException) -> None:
    """An exception leaving a trace's body gets its error event there, unless a call inside
    the trace recorded it; the call or trace the trace ran in does not record it again."""
    try:
        if isinstance(exc, Exception):
            if session._recorded_error is not exc:
                error = ErrorEvent(exception=exc)
                error.parent_id = None  # the trace's own: not under the call it ran in
                session.record_call(error)
            _recording.note_error(_recording.context_session(), exc)
        parent = _current_parent.get()
        if parent is not None:
            parent.raised = exc
    except Exception as internal:
        report_internal_error(internal, "trace failure")


def _is_method(func: Callable[..., Any]) -> bool:
    """A function defined in a class body whose first parameter is self or cls."""
    if "." not in getattr(func, "__qualname__", "").replace(".<locals>.", ""):
        return False
    try:
        first = next(iter(inspect.signature(func).parameters), None)
    except (TypeError, ValueError):
        return False
    return first in ("self", "cls")


def _wrap_function(spec: _Spec, func: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(func):
        return _async_generator(spec, func)
    if inspect.isgeneratorfunction(func):
        return _generator(spec, func)
    if inspect.iscoroutinefunction(func):
        return _async_call(spec, func)
    return _call(spec, func)


def _wrap_class(spec: _Spec, cls: type) -> type:
    """Each instance is one call of the class (and, for @agent, one agent): recorded when
    __init__ returns (or raises); its methods' calls nest under it (in the trace it was made
    in) and carry its agent id (declared in each trace it acts in)."""
    original_init = cls.__init__  # type: ignore[misc]

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        frame = _begin(spec, args, kwargs)
        if frame is None:
            original_init(self, *args, **kwargs)
            _keep(self, Instance(new_id(), spec.name, None))
            return
        token = _current_parent.set(frame)
        agent = _current_agent.set(_agent_id(frame)) if spec.is_agent else None
        try:
            original_init(self, *args, **kwargs)
        except BaseException as exc:
            _reset(token, agent)
            _fail(frame, exc)
            raise
        _reset(token, agent)
        _end(frame, None)
        _keep(self, Instance(frame.id, spec.name, frame.session.session_id))

    cls.__init__ = __init__  # type: ignore[misc]
    for attr, value in list(vars(cls).items()):
        if attr.startswith("__") or not inspect.isfunction(value):
            continue
        if inspect.isgeneratorfunction(value) or inspect.isasyncgenfunction(value):
            continue
        setattr(cls, attr, _inside_instance(value, spec.is_agent))
    return cls


def _keep(instance: Any, kept: Instance) -> None:
    try:
        object.__setattr__(instance, _INSTANCE, kept)
    except Exception as exc:  # __slots__ without room for it: no nesting then
        report_internal_error(exc, "agent class")


def _inside_instance(func: Callable[..., Any], is_agent: bool) -> Callable[..., Any]:
    """Run a method with its instance's event as the parent (unless a call is running, or
    the instance was made in another trace) and, for @agent, its agent id, the agent being
    declared in the trace it acts in."""

    def enter(args: tuple[Any, ...]) -> tuple[Any, Any]:
        try:
            kept = getattr(args[0], _INSTANCE, None) if args else None
            if not isinstance(kept, Instance):
                return None, None
            parent = _current_parent.get()
            session = _session_for(parent)
            token = None
            if session is not None:
                if is_agent:
                    session.declare_agent(str(kept.id), kept.name)
                if parent is None and kept.session_id == session.session_id:
                    anchor = Frame(EventType.ACTION.value, kept.name, None, None, None, session)
                    anchor._id = kept.id  # stands for the instance's event, not recorded
                    token = _current_parent.set(anchor)
            agent = _current_agent.set(str(kept.id)) if is_agent else None
        except Exception as exc:
            report_internal_error(exc, "agent method")
            return None, None
        return token, agent

    def leave(token: Any, agent: Any) -> None:
        if token is not None:
            _reset(token, None)
        if agent is not None:
            _current_agent.reset(agent)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_method(*args: Any, **kwargs: Any) -> Any:
            token, agent = enter(args)
            try:
                return await func(*args, **kwargs)
            finally:
                leave(token, agent)

        return async_method

    @functools.wraps(func)
    def method(*args: Any, **kwargs: Any) -> Any:
        token, agent = enter(args)
        try:
            return func(*args, **kwargs)
        finally:
            leave(token, agent)

    return method


class EntityDecorator:
    """One of 0.4's decorators: `@tool`, or with options, `@tool(name=..., cost=0.01)`."""

    def __init__(self, kind: str, doc: str) -> None:
        self.kind = kind
        self.__doc__ = doc

    @overload
    def __call__(self, wrapped: F) -> F: ...

    @overload
    def __call__(
        self,
        wrapped: None = None,
        *,
        name: str | None = None,
        version: Any = None,
        tags: list[str] | dict[str, Any] | None = None,
        cost: Any = None,
        spec: Any = None,
        capture_request: bool = True,
        capture_response: bool = True,
    ) -> Callable[[F], F]: ...

    def __call__(
        self,
        wrapped: Any = None,
        *,
        name: str | None = None,
        version: Any = None,
        tags: list[str] | dict[str, Any] | None = None,
        cost: Any = None,
        spec: Any = None,
        capture_request: bool = True,
        capture_response: bool = True,
    ) -> Any:
        if wrapped is None:
            return functools.partial(self._decorate, name=name, tags=tags, cost=cost)
        return self._decorate(wrapped, name=name, tags=tags, cost=cost)

    def _decorate(self, wrapped: Any, *, name: str | None, tags: Any, cost: Any) -> Any:
        if isinstance(wrapped, staticmethod | classmethod):  # above @staticmethod: its function
            return type(wrapped)(self._decorate(wrapped.__func__, name=name, tags=tags, cost=cost))
        kind = self.kind
        label = str(name or getattr(wrapped, "__name__", kind))
        if kind == "session" and not inspect.isclass(wrapped):
            return _trace_call(label, tags, wrapped)
        details = _Spec(kind, label, cost if kind == "tool" else None, _is_method(wrapped))
        if inspect.isclass(wrapped):
            return _wrap_class(details, wrapped)
        return _wrap_function(details, wrapped)


def _factory(kind: str) -> EntityDecorator:
    return EntityDecorator(kind, f"agentops 0.4's @{kind}: each call is an event.")


agent = _factory("agent")
task = _factory("task")
operation = task  # as in 0.4: the same decorator
workflow = _factory("workflow")
guardrail = _factory("guardrail")
tool = _factory("tool")
trace = EntityDecorator("session", "agentops 0.4's @trace: each call is a trace (a session).")
session = trace
