"""TraceContext: what agentops 0.4's start_trace() returns, over one of our sessions.

`ctx.span.get_span_context().trace_id` is the session id as an int, so a trace has one id
in our SDK, in agentops 0.4.21 and on the server (which names an OTLP trace's session by
its trace id as a UUID).
"""

from __future__ import annotations

from contextvars import Token
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from agentops import _recording
from agentops._errors import failure_reason
from agentops.wire import EndState

if TYPE_CHECKING:
    from agentops._session import Session


@dataclass(frozen=True, slots=True)
class SpanContext:
    """OpenTelemetry's SpanContext fields that 0.4 code reads."""

    trace_id: int
    span_id: int
    is_remote: bool = False
    trace_flags: int = 1

    @property
    def is_valid(self) -> bool:
        return True


class TraceSpan:
    """The trace's root span as 0.4 code uses it: its ids, name, state and attributes."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def name(self) -> str:
        return f"{self._session.name or 'session'}.session"

    def get_span_context(self) -> SpanContext:
        trace_id = self._session.session_id.int
        return SpanContext(trace_id, trace_id & 0xFFFF_FFFF_FFFF_FFFF)

    def is_recording(self) -> bool:
        return self._session.is_running

    def set_attribute(self, key: str, value: Any) -> None:
        """Kept as the session's metadata (sent with its next update)."""
        self._session.set_metadata({key: value})


class TraceContext:
    """A running trace: `with start_trace(...)` ends it Success, or Fail when the block raised."""

    def __init__(
        self,
        session: Session,
        token: Token[Session | None] | None = None,
        is_init_trace: bool = False,
    ) -> None:
        self.session = session
        self.span = TraceSpan(session)
        self.token = token
        self.is_init_trace = is_init_trace

    def __repr__(self) -> str:
        return f"<TraceContext {self.session.session_id}>"

    def __enter__(self) -> TraceContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        self.detach()  # the end is queued: leaving the block never waits for the server
        if exc is None:
            self.session.end_queued(EndState.SUCCESS)
        else:
            self.session.end_queued(EndState.FAIL, failure_reason(exc))
        return False

    def detach(self) -> None:
        """Stop being the current trace of the context that started it."""
        token, self.token = self.token, None
        if token is not None:
            _recording.reset_current(token)


class NoSpan:
    """The span of a NoTrace: no ids (all zero), not recording, attributes ignored."""

    name = ""

    def get_span_context(self) -> SpanContext:
        return SpanContext(0, 0, trace_flags=0)

    def is_recording(self) -> bool:
        return False

    def set_attribute(self, key: str, value: Any) -> None:
        return None


class NoTrace(TraceContext):
    """What start_trace() gives when there is no trace to start (init() not called, or
    without a valid API key): it does nothing, as the SDK then does. Falsy, like the None
    of agentops 0.4, so `if ctx:` reads the same; but `with start_trace(...):` and
    `end_trace(ctx)` work, where None made the program raise TypeError. It has no session
    (`session` is None)."""

    def __init__(self) -> None:  # no super().__init__(): there is no session
        self.session = None  # type: ignore[assignment]
        self.span = NoSpan()  # type: ignore[assignment]
        self.token = None
        self.is_init_trace = False

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<NoTrace: agentops is not initialized>"

    def __enter__(self) -> NoTrace:
        return self

    def __exit__(self, *exc_info: object) -> Literal[False]:
        return False  # nothing to end; the block's exception goes on

    def detach(self) -> None:
        return None
