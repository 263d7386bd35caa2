"""The decorated calls running now, in every thread: what a fatal signal ends.

A SIGTERM (or a SIGINT with the default action) kills the process without unwinding any
thread's stack, so the 0.4 decorators never see their calls end: their children, already
sent, would name a parent that never arrives. Each call is kept here from its start to its
end (a generator's from its first step until it is exhausted, closed or raises), with the
thread it started on; the signal's exit path records those still running, ended at the
signal, each chain's deepest one with an error event naming the signal. The exit hook does
the same for what still runs at exit (daemon threads, suspended generators), with an error
event only when a signal ended the program. Whoever takes a call out of the registry (its
own end, the signal or the exit) records it: exactly once.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Container
from types import FrameType

from agentops._errors import report_internal_error
from agentops._events import ErrorEvent, Frame

# call -> the thread it started on (a plain dict: one add and one pop per call, atomic)
_running: dict[Frame, int] = {}
_get_ident = threading.get_ident


def start(frame: Frame) -> None:
    """`frame` began: it runs until stop() takes it."""
    _running[frame] = _get_ident()


def stop(frame: Frame) -> bool:
    """Take `frame` out: True when it was running (its end is then the caller's to record),
    False when a signal recorded it already."""
    return _running.pop(frame, None) is not None


def _after_fork_in_child() -> None:
    """Only the thread that forked lives on in the child: its calls are the child's too."""
    me = _get_ident()
    for frame, thread in list(_running.items()):
        if thread != me:
            _running.pop(frame, None)


os.register_at_fork(after_in_child=_after_fork_in_child)


def end_all(
    signal_name: str | None,
    interrupted: FrameType | None = None,
    sessions: Container[object] | None = None,
) -> None:
    """Record every call still running as ended now. With `signal_name` the deepest call of
    each chain (of a session in `sessions`, None: of any) gets an error event saying the
    signal ended it, with the stack its thread was in (`interrupted`: the frame the main
    thread's signal handler was given)."""
    try:
        now = time.time()
        taken: list[tuple[Frame, int]] = []
        for frame in list(_running):
            thread = _running.pop(frame, None)
            if thread is not None:  # else it just ended, recorded by its own wrapper
                taken.append((frame, thread))
        parents = {frame.parent for frame, _ in taken}
        stacks = sys._current_frames() if taken and signal_name else {}
        main = threading.main_thread().ident
        for frame, thread in taken:
            frame.ended = now
            event = frame.as_event()
            session = frame.session
            session.record_call(event)
            if signal_name is None or frame in parents:  # an error is recorded once: by
                continue  # the deepest call
            if sessions is not None and session.session_id not in sessions:
                continue
            where = interrupted if thread == main and interrupted is not None else None
            error = ErrorEvent(
                trigger_event=event,
                error_type=signal_name,
                details=f"Signal {signal_name} detected",
                logs=_stack(where if where is not None else stacks.get(thread)),
            )
            error.parent_id = event.id
            session.record_call(error)
    except Exception as exc:
        report_internal_error(exc, "record the calls still running")


def _stack(where: FrameType | None) -> str:
    """Where a thread was when the signal came ("" when it is gone)."""
    return "".join(traceback.format_stack(where)) if where is not None else ""
