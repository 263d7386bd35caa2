"""Which session an event goes to: the routing hook for integrations and module-level calls.

The current session follows contextvars: start_session() and `with session:` set it in the
caller's context, so asyncio tasks and copy_context() threads keep their own. Without one, the
only active session is used. With several active sessions and no current one, the event is
dropped with one warning (0.3.26 raised ValueError into the agent).

Integrations call `record_event(event, session=None)`; it never raises.
"""

from __future__ import annotations

import os
import threading
import uuid
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from agentops._errors import logger, report_internal_error, warn_once

if TYPE_CHECKING:
    from agentops._events import Event
    from agentops._session import Session

_current: ContextVar[Session | None] = ContextVar("agentops_current_session", default=None)
_active: dict[uuid.UUID, Session] = {}
_lock = threading.RLock()  # RLock: the signal handler reads the registry from any point
MULTI_SESSION_HELP = (
    "several sessions are active and none is current here: use session.record(...), "
    "pass session=..., or run the code inside `with session:`"
)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # another thread may have held it at fork time


os.register_at_fork(after_in_child=_after_fork_in_child)


def register(session: Session) -> None:
    with _lock:
        _active[session.session_id] = session


def unregister(session: Session) -> None:
    with _lock:
        if _active.get(session.session_id) is session:
            del _active[session.session_id]


def active_sessions() -> list[Session]:
    """Running sessions, oldest first."""
    with _lock:
        return list(_active.values())


def any_active() -> bool:
    """Whether a session is running (lock-free: read on every instrumented LLM call)."""
    return bool(_active)


def find(session_id: uuid.UUID) -> Session | None:
    return _active.get(session_id)


def set_current(session: Session | None) -> Token[Session | None]:
    return _current.set(session)


def reset_current(token: Token[Session | None]) -> None:
    try:
        _current.reset(token)
    except ValueError:  # token made in another context (e.g. exited from another task)
        _current.set(None)


context_session = _current.get
"""The session set current in this context (None if none; it may have ended)."""


def current_session() -> Session | None:
    """The session events go to here: the context's current one, else the only active one."""
    session = _current.get()
    if session is not None and session.is_running:
        return session
    if len(_active) == 1:
        for only in list(_active.values()):
            return only
    return None


def resolve(what: str) -> Session | None:
    """current_session(), with a one-time explanation when there is none."""
    session = current_session()
    if session is None:
        if len(_active) > 1:
            warn_once(f"multi:{what}", "Could not %s - %s", what, MULTI_SESSION_HELP)
        else:
            warn_once(
                f"none:{what}",
                "Could not %s - no session is running. Call agentops.init() or "
                "agentops.start_session() first",
                what,
            )
    return session


def note_error(session: Session | None, exc: BaseException) -> None:
    """`exc` has its error event in `session` (recorded by the call it went through): an
    @trace whose body it leaves does not record it again."""
    if session is not None:
        session._recorded_error = exc


def record_event(event: Event, session: Session | None = None) -> None:
    """Record `event` to `session`, else the current session; drop it when there is none."""
    try:  # not capture_internal_errors(): this runs once per LLM call, keep it lean
        target = session if session is not None else current_session()
        if target is None:
            if len(_active) > 1:
                warn_once("multi:record", "Could not record event - %s", MULTI_SESSION_HELP)
            else:
                logger.debug("no session: %s dropped", type(event).__name__)
            return
        target.record(event)
    except Exception as exc:
        report_internal_error(exc, "record_event")
