"""Process exit, uncaught exceptions and SIGINT/SIGTERM: end every session, flush with a
deadline, then behave exactly as the process would without the SDK.

- atexit: unended sessions end as Indeterminate (wire.REASON_NO_END); if the server does not
  take everything in time, the number of unsent events is printed to stderr. It runs after
  Python has waited for the program's other (non-daemon) threads, so what they record on
  their way out is delivered too.
- sys.excepthook: the previous hook runs, and the exit hook ends every session as Fail with
  the traceback; an uncaught KeyboardInterrupt (a Ctrl+C that ends the process) ends them as
  Fail ("Signal SIGINT detected"). At the interactive prompt an error ends nothing.
- SIGINT handled by Python (KeyboardInterrupt) or by the program's own handler: left alone,
  so asyncio.run() still installs its own (a Ctrl+C cancels the main task). The program may
  catch the interrupt and go on, and then so do its sessions; if the KeyboardInterrupt ends
  the process, the excepthook above ends them.
- SIGTERM with the program's own handler: what is queued is sent first (within the deadline:
  the handler may end the process at once), then that handler runs and decides. If it ends
  the process (SystemExit, an exception), the sessions still running end as Fail ("Signal
  SIGTERM detected"); if it returns, the program and its sessions go on.
- SIGTERM, and SIGINT with the default action (SIG_DFL): every session ends as Fail
  ("Signal SIGTERM detected"), then the signal is re-raised, so the exit status is the usual
  one.
- A second signal while the exit hooks wait for the server cuts the wait short (what is not
  sent stays in the spool).
- multiprocessing's children (fork, forkserver) leave by os._exit() after running its own exit
  function, not atexit: the exit path is registered there too (multiprocessing.util.Finalize).
Installed once, from any thread; the signal handlers only from the main thread (Python's rule),
by the first init() there. Only sessions started by this process are ended.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from agentops import _recording, _spooling, _worker
from agentops._errors import capture_internal_errors, logger
from agentops.wire import REASON_NO_END, EndState

Handler = Callable[[int, FrameType | None], Any] | int | None

# multiprocessing.util.Finalize priority of the exit path in multiprocessing's children: ahead
# of the library's own (a Pool's is 15), so the sessions end before it tears things down.
MULTIPROCESSING_EXIT_PRIORITY = 100

_installed = False
_signals_installed = False
_shutdown_timeout = 2.0
_previous_excepthook: Callable[..., Any] | None = None
_previous_handlers: dict[int, Handler] = {}
_handling: set[int] = set()
# (signal name, pid): the program's own handler of that signal ended the process (it raised);
# the exit hooks end the sessions still running as Fail with it as their reason.
_signalled: tuple[str, int] | None = None
# (pid, reason): an uncaught exception ends the process; the exit hook ends the sessions as Fail.
_crash: tuple[int, str] | None = None
# Set while an exit hook waits for the server: a signal then cuts the wait short.
_exit_waiting = False
# Set once an exit-path wait was cut short (deadline, or a second Ctrl+C): later hooks of the
# same exit (excepthook after KeyboardInterrupt, atexit) then don't wait for the server again.
_gave_up = False
# Set by an uncaught KeyboardInterrupt: the process is to exit by SIGINT (see _keep_sigint_exit).
_interrupted = False
# The process whose exit path ran (atexit and multiprocessing's exit function may both call it).
_exited_pid: int | None = None
_multiprocessing_watched = False
_finalizer_pid: int | None = None


class _Token:
    """What multiprocessing.util.register_after_fork keeps a weak reference to."""


_MULTIPROCESSING_TOKEN = _Token()


def install(shutdown_timeout: float) -> None:
    """Install the hooks (idempotent). The exit path and the excepthook are installed from
    any thread; the signal handlers once init() runs on the main thread."""
    global _installed, _signals_installed, _shutdown_timeout, _previous_excepthook
    _shutdown_timeout = shutdown_timeout
    if not _installed:
        _installed = True
        atexit.register(_at_exit)
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
        os.register_at_fork(before=_watch_multiprocessing)
    _watch_multiprocessing()
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return
    _signals_installed = True
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if previous is signal.SIG_IGN or previous is None:
            continue  # ignored by the program (or set from C): leave it alone
        if signum == signal.SIGINT and callable(previous):
            continue  # KeyboardInterrupt or the program's handler: the excepthook is enough
        _previous_handlers[signum] = previous
        signal.signal(signum, _on_signal)


def end_all(state: EndState, reason: str | None, timeout: float) -> None:
    """End this process's running sessions and wait up to `timeout` s for the server."""
    global _gave_up
    with capture_internal_errors("end_all"):
        pid = os.getpid()
        ends: dict[_worker.BatchWorker, list[_worker.Command]] = {}
        for session in _recording.active_sessions():
            if session._pid == pid:
                command = session._finish(state, reason, None)
                if command is not None:
                    ends.setdefault(session._worker, []).append(command)
        workers = _worker.live_workers()
        done = not _gave_up
        if workers and not _gave_up:
            deadline = time.monotonic() + timeout
            try:  # the ends go ahead of a backlog that can't be sent in time, then the rest
                for worker in workers:
                    commands = ends.get(worker) or [worker.put(_worker.Command())]
                    left = max(0.0, deadline - time.monotonic())
                    done = worker.deliver(commands, left) and done
                for worker in workers:
                    done = worker.flush(max(0.0, deadline - time.monotonic())) and done
            except BaseException:  # KeyboardInterrupt from a second Ctrl+C
                _gave_up = True
                _keep_unsent(workers, timeout, done=False)
                raise
        if not done:
            _gave_up = True
        _keep_unsent(workers, timeout, done=done)


def _keep_unsent(workers: list[_worker.BatchWorker], waited: float, *, done: bool) -> None:
    """What did not reach the server in time goes to the spool (said on stderr); durable
    journals are deleted when everything was delivered, else kept for the next run."""
    for worker in workers if not done else ():
        keeper = worker.keeper
        kept = keeper.spill(worker) if keeper is not None else 0
        _worker.report_pending(worker, waited, kept, keeper)
    _spooling.close_all(delivered=done)


def _watch_multiprocessing() -> None:
    """Once multiprocessing is imported (checked at install and before each fork): each of
    its children registers the exit path as it starts (its start clears the finalizers it
    inherited, then runs the after-fork callbacks), and so does one that calls init()."""
    global _multiprocessing_watched
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return
    with capture_internal_errors("multiprocessing exit hook"):
        if not _multiprocessing_watched:
            _multiprocessing_watched = True
            util.register_after_fork(_MULTIPROCESSING_TOKEN, _in_multiprocessing_child)
        process = sys.modules.get("multiprocessing.process")
        if process is not None and process.parent_process() is not None:
            _in_multiprocessing_child(_MULTIPROCESSING_TOKEN)


def _in_multiprocessing_child(_token: object) -> None:
    """A multiprocessing child: run the exit path from multiprocessing's exit function."""
    global _finalizer_pid
    util = sys.modules.get("multiprocessing.util")
    if util is None or _finalizer_pid == os.getpid():
        return
    _finalizer_pid = os.getpid()
    util.Finalize(None, _at_exit, exitpriority=MULTIPROCESSING_EXIT_PRIORITY)


def _at_exit() -> None:
    global _exited_pid, _gave_up, _exit_waiting
    if _exited_pid == os.getpid():
        return
    _exited_pid = os.getpid()
    state, reason = _exit_end()
    _exit_waiting = True
    try:
        end_all(state, reason, _shutdown_timeout)
    except BaseException:  # a second signal during the wait: what is unsent stays spooled
        _gave_up = True
    finally:
        _exit_waiting = False
    if _interrupted:
        _keep_sigint_exit()


def _exit_end() -> tuple[EndState, str]:
    """How the sessions still running at exit end: the crash or signal that ended this
    process (not its parent's, after a fork), else Indeterminate."""
    pid = os.getpid()
    if _crash is not None and _crash[0] == pid:
        return EndState.FAIL, _crash[1]
    if _signalled is not None and _signalled[1] == pid:
        return EndState.FAIL, f"Signal {_signalled[0]} detected"
    return EndState.INDETERMINATE, REASON_NO_END


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """Remember why the process ends; the exit hook ends the sessions, once the program's
    other threads are done (they may still record, and end sessions themselves)."""
    global _interrupted, _crash
    if issubclass(exc_type, KeyboardInterrupt):  # the Ctrl+C was not caught: it ends the process
        _interrupted = True
        by = _signalled[0] if _signalled is not None and _signalled[1] == os.getpid() else None
        reason = f"Signal {by or signal.SIGINT.name} detected"
    else:
        reason = f"{exc}: " + "".join(traceback.format_exception(exc_type, exc, tb))
    if not hasattr(sys, "ps1"):  # at the interactive prompt an error ends nothing
        _crash = (os.getpid(), reason)
    previous = _previous_excepthook or sys.__excepthook__
    previous(exc_type, exc, tb)


def _keep_sigint_exit() -> None:
    """After an uncaught KeyboardInterrupt CPython exits by SIGINT (status 130 in a shell),
    using a flag that every module executed since clears: the SDK's worker importing its HTTP
    stack while the sessions end would turn the exit status into 1. Setting the flag again
    is running a top-level code object that raises KeyboardInterrupt (PyRun_String)."""
    if sys.implementation.name != "cpython":  # pragma: no cover
        return
    with capture_internal_errors("keep the SIGINT exit status"):
        try:
            import ctypes

            run = ctypes.pythonapi.PyRun_String
            run.restype = ctypes.py_object
            run.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.py_object, ctypes.py_object]
            file_input = 257  # Py_file_input
            run(b"raise KeyboardInterrupt", file_input, {}, {})
        except KeyboardInterrupt:  # the one raised on purpose (or yet another Ctrl+C)
            pass


class _WaitCut(BaseException):
    """A signal while an exit hook waits for the server: stop waiting."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _signalled
    name = signal.Signals(signum).name
    if callable(_previous_handlers.get(signum)):
        if _exit_waiting:  # the process is leaving already: the program's handler, then go
            _chain(signum, frame)
            raise _WaitCut(name)
        # the program's own handler decides whether this ends the process, and may end it at
        # once (os._exit, the default action): what is queued is sent first
        _flush(_shutdown_timeout)
        _signalled = (name, os.getpid())
        _chain(signum, frame)  # if it raises, the exit hooks end the sessions with `name`
        _signalled = None  # it returned: the program goes on, and so do its sessions
        return
    if signum not in _handling:
        _handling.add(signum)
        try:
            logger.info("%s detected. Ending sessions...", name)
            end_all(EndState.FAIL, f"Signal {name} detected", _shutdown_timeout)
        finally:
            _handling.discard(signum)
    _chain(signum, frame)


def _flush(timeout: float) -> None:
    """Send what is queued, waiting up to `timeout` s in all."""
    with capture_internal_errors("flush before the program's signal handler"):
        deadline = time.monotonic() + timeout
        for worker in _worker.live_workers():
            worker.flush(max(0.0, deadline - time.monotonic()))


def _chain(signum: int, frame: FrameType | None) -> None:
    """Do what the handler in place before ours would have done."""
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):  # the program's own handler
        previous(signum, frame)
        return
    if previous == signal.SIG_DFL:  # pragma: no cover - the process dies of it, unmeasured
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
