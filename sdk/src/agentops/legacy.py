"""agentops 0.4's `agentops.legacy`: the 0.3 names 0.4 kept for old programs (CrewAI among
them), here the working ones of this SDK, plus `track_tool`.

0.4.21's legacy events and `track_agent`/`track_tool` do nothing; here the events are
recorded, `track_agent` is 0.3's, and `track_tool` records each call as a tool event, as
`@agentops.tool` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from agentops._api import end_all_sessions, end_session, start_session
from agentops._decorators import track_agent
from agentops._entities import tool
from agentops._events import ActionEvent, ErrorEvent, LLMEvent, ToolEvent
from agentops._session import Session

F = TypeVar("F", bound=Callable[..., Any])


@overload
def track_tool(func: F, /) -> F: ...


@overload
def track_tool(name: str | None = None, /, **kwargs: Any) -> Callable[[F], F]: ...


def track_tool(*args: Any, **kwargs: Any) -> Any:
    """0.4's deprecated tool decorator: `@track_tool`, `@track_tool("name")` or
    `@track_tool(name="name")` record each call as a tool event (other keywords are ignored)."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return tool(args[0])
    given = kwargs.get("name", kwargs.get("tool_name", args[0] if args else None))
    name = None if given is None else str(given)

    def decorate(func: F) -> F:
        return tool(name=name)(func)

    return decorate


__all__ = [
    "ActionEvent",
    "ErrorEvent",
    "LLMEvent",
    "Session",
    "ToolEvent",
    "end_all_sessions",
    "end_session",
    "start_session",
    "track_agent",
    "track_tool",
]
