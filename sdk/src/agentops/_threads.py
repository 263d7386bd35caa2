"""The SDK's threads, which take none of the signals meant for the program.

The kernel hands a signal sent to the process to any of its threads that does not block it.
A program without the SDK has one thread, so its main thread always gets them; Python runs
signal handlers only there. A signal that lands on one of our threads instead is taken from a
program that waits for it (`signal.sigwait`, `sigtimedwait`), ends the process at once if its
action is the default one while the main thread blocks it, and otherwise waits for the main
thread's next bytecode: a handler held back for as long as the main thread sleeps or blocks
in a system call. So each of our threads starts with the asynchronous signals blocked (a new
thread inherits the mask of the thread that starts it); the synchronous ones (a fault in the
thread itself, a broken pipe it writes to) stay as they were.
"""

from __future__ import annotations

import importlib
import signal
import threading
from collections.abc import Callable, Iterable

__all__ = ["start_daemon_thread"]

# Raised by the thread's own fault or write, never sent: blocking them changes nothing
# (SIGPIPE would stay pending instead of being ignored), or the kernel cannot block them.
_SYNCHRONOUS = {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS", "SIGPIPE"}
_UNBLOCKABLE = {"SIGKILL", "SIGSTOP"}


def _asynchronous_signals() -> frozenset[int]:
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        return frozenset()
    kept = _SYNCHRONOUS | _UNBLOCKABLE
    # real-time signals come as plain ints: blocked too
    return frozenset(s for s in signal.valid_signals() if getattr(s, "name", None) not in kept)


ASYNCHRONOUS_SIGNALS: frozenset[int] = _asynchronous_signals()
_set_mask: Callable[[int, Iterable[int]], object] | None = getattr(
    importlib.import_module("_signal"), "pthread_sigmask", None
)
"""CPython's pthread_sigmask itself, without signal.py's Python wrapper around it (None where
there are no signal masks: then ASYNCHRONOUS_SIGNALS is empty too)."""


def start_daemon_thread(
    target: Callable[[], object],
    name: str,
    started: Callable[[threading.Thread], None] | None = None,
) -> threading.Thread:
    """Start a daemon thread running `target` with the asynchronous signals blocked, and pass
    it to `started` as soon as it runs. A signal that came meanwhile is handled as the mask
    is restored, after that: what its handler raises (a KeyboardInterrupt) comes out of here
    with the thread running and already recorded by `started`. Whenever a handler raises,
    the caller's mask is left as it was."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    if not ASYNCHRONOUS_SIGNALS or _set_mask is None:
        thread.start()
        if started is not None:
            started(thread)
        return thread
    # The mask as it is, read before anything changes: a signal handled by the blocking call
    # itself (CPython runs pending handlers as pthread_sigmask returns) raises out of it after
    # the mask changed and before its answer could be kept.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, ASYNCHRONOUS_SIGNALS)
        thread.start()
        if started is not None:
            started(thread)
    finally:
        # by the C function itself: signal.pthread_sigmask is Python, and a handler run as it
        # is entered (a KeyboardInterrupt) would leave the program's main thread with Ctrl+C
        # and SIGTERM blocked for good, its blocking calls no longer interrupted by them
        _set_mask(signal.SIG_SETMASK, previous)
    return thread
