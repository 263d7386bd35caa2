"""agentops 0.4's import path for its decorators: `from agentops.sdk.decorators import agent`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from agentops._entities import (
    agent,
    guardrail,
    operation,
    session,
    task,
    tool,
    trace,
    workflow,
)
from agentops._errors import logger

F = TypeVar("F", bound=Callable[..., Any])


@overload
def track_endpoint(wrapped: F, /) -> F: ...


@overload
def track_endpoint(
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


def track_endpoint(
    wrapped: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    version: Any = None,
    tags: list[str] | dict[str, Any] | None = None,
    cost: Any = None,
    spec: Any = None,
    capture_request: bool = True,
    capture_response: bool = True,
) -> Any:
    """0.4's @track_endpoint (a web framework's route): each call is a trace of its own,
    as with @trace, ended Success, or Indeterminate with the exception as the reason. The
    HTTP request and response are not recorded; a generator runs untraced, as in 0.4."""
    if wrapped is None:
        return lambda func: _as_trace(func, name, tags)
    return _as_trace(wrapped, name, tags)


def _as_trace(func: Callable[..., Any], name: str | None, tags: Any) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        logger.warning(
            "@track_endpoint on generator '%s' is not supported. Use @trace instead.",
            name or getattr(func, "__name__", "?"),
        )
        return func
    return trace(name=name, tags=tags)(func)


__all__ = [
    "agent",
    "guardrail",
    "operation",
    "session",
    "task",
    "tool",
    "trace",
    "track_endpoint",
    "workflow",
]
