"""record_action, record_tool, record_function (deprecated) and track_agent.

Sync and async functions. The event goes to `session=` if the call passes one, else to the
current session (contextvars), else the only active session; with several sessions and no
current one it is dropped with one warning, never a ValueError into the agent. A failing call
records the event (ended) and an ErrorEvent linked to it, then re-raises unchanged.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from agentops import _recording
from agentops._client import get_client
from agentops._encode import snapshot
from agentops._errors import capture_internal_errors, logger, report_internal_error
from agentops._events import ActionEvent, ErrorEvent, Event, ToolEvent, _current_agent, end_now

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _params(sig: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if sig is None:
        return {"args": list(args), **kwargs} if args else dict(kwargs)
    try:
        bound = sig.bind_partial(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)
    except TypeError:
        return {"args": list(args), **kwargs}


def _start(new_event: Callable[..., Event], params: Callable[[], Any]) -> Event | None:
    """The event for one call, or None if building it failed (the call runs regardless)."""
    try:
        return new_event(params=snapshot(params()))  # as given: not as changed later
    except Exception as exc:
        report_internal_error(exc, "decorator")
        return None


def _succeed(event: Event | None, result: Any, session: Any) -> None:
    if event is None:
        return
    with capture_internal_errors("decorator result"):
        event.returns = snapshot(list(result) if isinstance(result, tuple) else result)
        try:
            screenshot = getattr(result, "screenshot", None)
        except Exception:  # a result whose __getattr__ raises: no screenshot
            screenshot = None
        if screenshot is not None and isinstance(event, ActionEvent):
            event.screenshot = screenshot
        end_now(event)
        _recording.record_event(event, session)


def _fail(event: Event | None, exc: BaseException, session: Any) -> None:
    if event is None:
        return
    with capture_internal_errors("record failure"):
        end_now(event)
        target = session if session is not None else _recording.current_session()
        _recording.record_event(event, target)
        _recording.record_event(ErrorEvent(trigger_event=event, exception=exc), target)
        _recording.note_error(target, exc)


def _recorder(make: Callable[[Callable[..., Any], str | None], Callable[..., Event]]) -> Any:
    """Build a decorator factory from a function making the event for one call."""

    def factory(name: str | None = None) -> Callable[[F], F]:
        def decorate(func: F) -> F:
            if isinstance(func, staticmethod | classmethod):  # above @staticmethod: its function
                return type(func)(decorate(func.__func__))
            try:
                sig: inspect.Signature | None = inspect.signature(func)
            except (TypeError, ValueError):
                sig = None
            new_event = make(func, name)

            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    session = kwargs.pop("session", None)
                    event = _start(new_event, lambda: _params(sig, args, kwargs))
                    try:
                        result = await func(*args, **kwargs)
                    except BaseException as exc:
                        _fail(event, exc, session)
                        raise
                    _succeed(event, result, session)
                    return result

                return async_wrapper  # type: ignore[return-value]

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                session = kwargs.pop("session", None)
                event = _start(new_event, lambda: _params(sig, args, kwargs))
                try:
                    result = func(*args, **kwargs)
                except BaseException as exc:
                    _fail(event, exc, session)
                    raise
                _succeed(event, result, session)
                return result

            return wrapper  # type: ignore[return-value]

        return decorate

    return factory


def _action(func: Callable[..., Any], name: str | None) -> Callable[..., Event]:
    return functools.partial(ActionEvent, action_type=name or func.__name__)


def _tool(func: Callable[..., Any], name: str | None) -> Callable[..., Event]:
    return functools.partial(ToolEvent, name=name or func.__name__)


record_action: Callable[..., Callable[[F], F]] = _recorder(_action)
record_action.__doc__ = "Record each call of the decorated function as an ActionEvent."
record_tool: Callable[..., Callable[[F], F]] = _recorder(_tool)
record_tool.__doc__ = "Record each call of the decorated function as a ToolEvent."


def record_function(event_name: str | None = None) -> Callable[[F], F]:
    """Deprecated alias of record_action (0.3)."""
    logger.warning("DEPRECATION WARNING: record_function has been replaced with record_action")
    return record_action(event_name)


def _with_agent(func: Callable[..., T], get_id: Callable[[Any, tuple[Any, ...]], Any]) -> Any:
    """Wrap `func` so events created during the call carry the agent's id."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _current_agent.set(get_id(func, args))
            try:
                return await func(*args, **kwargs)
            finally:
                _current_agent.reset(token)

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _current_agent.set(get_id(func, args))
        try:
            return func(*args, **kwargs)
        finally:
            _current_agent.reset(token)

    return wrapper


def _self_agent_id(func: Any, args: tuple[Any, ...]) -> Any:
    return getattr(args[0], "agentops_agent_id", None) if args else None


def track_agent(name: str | None = None) -> Callable[[T], T]:
    """Declare a class (each instance is an agent) or a function (one agent) to AgentOps.

    Events recorded while one of its methods runs carry its agent id. Instances take an
    `agentops_name=` keyword; the name defaults to the decorator's, then `self.role`.
    """

    def decorate(obj: T) -> T:
        if inspect.isclass(obj):
            return _track_class(obj, name)  # type: ignore[return-value]
        if callable(obj):
            agent_id = str(uuid.uuid4())
            get_client().create_agent(name or getattr(obj, "__name__", None), agent_id)
            wrapped = _with_agent(obj, lambda _f, _a: agent_id)
            wrapped.agentops_agent_id = agent_id
            wrapped.agentops_agent_name = name
            return wrapped  # type: ignore[no-any-return]
        return obj

    return decorate


def _track_class(cls: type, name: str | None) -> type:
    original_init = cls.__init__  # type: ignore[misc]

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        agent_name = kwargs.pop("agentops_name", None)
        original_init(self, *args, **kwargs)
        with capture_internal_errors("track_agent"):
            self.agentops_agent_id = str(uuid.uuid4())
            self.agentops_agent_name = agent_name or name or getattr(self, "role", None)
            get_client().create_agent(
                self.agentops_agent_name, self.agentops_agent_id, session=kwargs.get("session")
            )

    cls.__init__ = __init__  # type: ignore[misc]
    for attr, value in list(vars(cls).items()):
        if attr.startswith("__") or not inspect.isfunction(value):
            continue
        if inspect.isgeneratorfunction(value) or inspect.isasyncgenfunction(value):
            continue
        setattr(cls, attr, _with_agent(value, _self_agent_id))
    return cls
