"""agentops 0.4's `agentops.sdk.core`: the home of `TraceContext` and of `tracer`, the
object 0.4 programs ask whether the SDK is initialized and which traces run."""

from __future__ import annotations

from typing import Any

from agentops import _recording
from agentops._client import Client, get_client
from agentops._trace_context import TraceContext
from agentops._traces import end_trace, start_trace
from agentops.enums import TraceState


class Tracer:
    """0.4's TracingCore as programs use it: a trace is one of our sessions, keyed here by
    its trace id in hex (32 digits), as 0.4 keys them."""

    @property
    def initialized(self) -> bool:
        """init() succeeded (a valid API key): traces can start."""
        client = get_client()
        return isinstance(client, Client) and client.is_initialized

    def start_trace(
        self, trace_name: str = "session", tags: dict[str, Any] | list[str] | None = None
    ) -> TraceContext:
        return start_trace(trace_name, tags)

    def end_trace(
        self, trace_context: TraceContext | None = None, end_state: Any = TraceState.SUCCESS
    ) -> None:
        end_trace(trace_context, end_state)

    def get_active_traces(self) -> dict[str, TraceContext]:
        return {
            format(session.session_id.int, "032x"): session.trace_context
            for session in _recording.active_sessions()
        }

    def get_active_trace_count(self) -> int:
        return len(_recording.active_sessions())


tracer = Tracer()

__all__ = ["TraceContext", "Tracer", "tracer"]
