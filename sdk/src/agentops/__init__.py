"""agentops: observability for AI agents, the AgentOps API of 0.3.x (sessions) and of 0.4.x
(traces and nesting decorators) on one SDK.

    import agentops
    agentops.init(api_key=..., endpoint="http://127.0.0.1:8000")   # starts a session
    ...
    cost = agentops.end_session("Success")                         # Decimal, in USD

Module functions act on the default client (a do-nothing one until init() succeeds) and on
the current session (contextvars), else the only active one. See docs/sdk.md.

The names load on first use (PEP 562), so `import agentops.wire`, what the server imports,
runs nothing else of the SDK (but for registering an exit hook that does nothing until init()).
"""

from __future__ import annotations

import atexit
import importlib
import sys
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from agentops._api import (
        add_tags,
        configure,
        create_agent,
        end_all_sessions,
        end_session,
        flush,
        get_api_key,
        get_session,
        init,
        record,
        set_api_key,
        set_parent_key,
        set_tags,
        start_session,
        stop_instrumenting,
    )
    from agentops._budget import (
        BudgetExceeded,
    )
    from agentops._client import (
        Client,
        get_client,
    )
    from agentops._config import (
        Configuration,
    )
    from agentops._decorators import (
        record_action,
        record_function,
        record_tool,
        track_agent,
    )
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
    from agentops._events import (
        ActionEvent,
        ErrorEvent,
        Event,
        LLMEvent,
        ToolEvent,
    )
    from agentops._session import (
        Session,
    )
    from agentops._trace_context import (
        TraceContext,
    )
    from agentops._traces import (
        end_trace,
        start_trace,
        update_trace_metadata,
    )
    from agentops.enums import (
        ERROR,
        SUCCESS,
        UNSET,
        TraceState,
    )
    from agentops.legacy import (
        track_tool,
    )
    from agentops.sdk.decorators import (
        track_endpoint,
    )
    from agentops.validation import (
        ValidationError,
        print_validation_summary,
        validate_trace_spans,
    )
    from agentops.wire import (
        EndState,
        EventType,
    )

# Each public name and the module that defines it.
_HOMES = {
    **dict.fromkeys(
        (
            "add_tags",
            "configure",
            "create_agent",
            "end_all_sessions",
            "end_session",
            "flush",
            "get_api_key",
            "get_session",
            "init",
            "record",
            "set_api_key",
            "set_parent_key",
            "set_tags",
            "start_session",
            "stop_instrumenting",
        ),
        "agentops._api",
    ),
    **dict.fromkeys(
        ("BudgetExceeded",),
        "agentops._budget",
    ),
    **dict.fromkeys(
        (
            "Client",
            "get_client",
        ),
        "agentops._client",
    ),
    **dict.fromkeys(
        ("Configuration",),
        "agentops._config",
    ),
    **dict.fromkeys(
        (
            "record_action",
            "record_function",
            "record_tool",
            "track_agent",
        ),
        "agentops._decorators",
    ),
    **dict.fromkeys(
        (
            "agent",
            "guardrail",
            "operation",
            "session",
            "task",
            "tool",
            "trace",
            "workflow",
        ),
        "agentops._entities",
    ),
    **dict.fromkeys(
        (
            "ActionEvent",
            "ErrorEvent",
            "Event",
            "LLMEvent",
            "ToolEvent",
        ),
        "agentops._events",
    ),
    **dict.fromkeys(
        ("Session",),
        "agentops._session",
    ),
    **dict.fromkeys(
        ("TraceContext",),
        "agentops._trace_context",
    ),
    **dict.fromkeys(
        (
            "end_trace",
            "start_trace",
            "update_trace_metadata",
        ),
        "agentops._traces",
    ),
    **dict.fromkeys(
        (
            "ERROR",
            "SUCCESS",
            "TraceState",
            "UNSET",
        ),
        "agentops.enums",
    ),
    **dict.fromkeys(
        ("track_tool",),
        "agentops.legacy",
    ),
    **dict.fromkeys(
        ("track_endpoint",),
        "agentops.sdk.decorators",
    ),
    **dict.fromkeys(
        (
            "ValidationError",
            "print_validation_summary",
            "validate_trace_spans",
        ),
        "agentops.validation",
    ),
    **dict.fromkeys(
        (
            "EndState",
            "EventType",
        ),
        "agentops.wire",
    ),
}

__all__ = [
    "ActionEvent",
    "BudgetExceeded",
    "Client",
    "Configuration",
    "ERROR",
    "EndState",
    "ErrorEvent",
    "Event",
    "EventType",
    "LLMEvent",
    "SUCCESS",
    "Session",
    "ToolEvent",
    "TraceContext",
    "TraceState",
    "UNSET",
    "ValidationError",
    "add_tags",
    "agent",
    "configure",
    "create_agent",
    "end_all_sessions",
    "end_session",
    "end_trace",
    "flush",
    "get_api_key",
    "get_client",
    "get_session",
    "guardrail",
    "init",
    "operation",
    "print_validation_summary",
    "record",
    "record_action",
    "record_function",
    "record_tool",
    "session",
    "set_api_key",
    "set_parent_key",
    "set_tags",
    "start_session",
    "start_trace",
    "stop_instrumenting",
    "task",
    "tool",
    "trace",
    "track_agent",
    "track_endpoint",
    "track_tool",
    "update_trace_metadata",
    "validate_trace_spans",
    "workflow",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'agentops' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _exit_hook() -> None:
    """The SDK's exit hook joins atexit's list when agentops is imported, not at init():
    atexit runs the last registered first, so a handler the program registers after `import
    agentops` (a framework's shutdown hook, even one registered before init()) runs before the
    sessions end and can still record and end them, as with agentops 0.3. Until init() has
    loaded the lifecycle module, it does nothing."""
    lifecycle = sys.modules.get("agentops._lifecycle")
    if lifecycle is not None:
        lifecycle.at_exit()


atexit.register(_exit_hook)
