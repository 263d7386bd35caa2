"""Process exit, uncaught exceptions and SIGINT/SIGTERM: end every session, flush with a
deadline, then behave exactly as the process would without the SDK.

- atexit: decorated calls that never returned (in daemon threads, suspended generators) are
  recorded as ended at exit; unended sessions end as Indeterminate (wire.REASON_NO_END); if
  the server does not take everything in time, the number of unsent events is printed to
  stderr. It runs after
  Python has waited for the program's other (non-daemon) threads, so what they record on
  their way out is delivered too.
- sys.excepthook: the previous hook runs, and the exit hook ends every session as Fail with
  the traceback; an uncaught KeyboardInterrupt (a Ctrl+C that ends the process) ends them as
  Fail ("Signal SIGINT detected"). At the interactive prompt an error ends nothing. A hook
  the program installs after init() without calling ours still leaves the exception in
  sys.last_value, where the exit hook finds it (see _last_exception.py).
- SIGINT handled by Python (KeyboardInterrupt) or by the program's own handler: left alone,
  so asyncio.run() still installs its own (a Ctrl+C cancels the main task). The program may
  catch the interrupt and go on, and then so do its sessions; if the KeyboardInterrupt ends
  the process, the excepthook above ends them.
- SIGTERM with the program's own handler: what is queued is sent first (within the deadline:
  the handler may end the process at once), then that handler runs and decides. If it ends
  the process (SystemExit, an exception), the sessions still running end as Fail ("Signal
  SIGTERM detected"); if it returns, the program and its sessions go on.
- SIGTERM, and SIGINT with the default action (SIG_DFL): the decorated calls still running,
  in every thread, are recorded as ended by the signal (no stack unwinds: see _running.py),
  every session ends as Fail ("Signal SIGTERM detected"), then the signal is re-raised, so
  the exit status is the usual one.
- A second signal while the exit hooks wait for the server cuts the wait short (what is not
  sent stays in the spool).
- multiprocessing's children (fork, forkserver) leave by os._exit() after running its own exit
  function, not atexit: the exit path is registered there too (multiprocessing.util.Finalize).
Installed once, from any thread; the signal handlers only from the main thread (Python's rule),
by the first init() there. Only sessions started by this process are ended, not one it
re-attached to (inherited_session_id): that one's owner ends it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from types import FrameType, TracebackType
from typing import Any

from agentops import _recording, _running, _spooling, _worker
from agentops._errors import capture_internal_errors, logger
from agentops._last_exception import uncaught_exception
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
# Why sessions end as Fail at exit: (pid, reason, ids of the sessions running then). Set by
# an uncaught exception, and by a signal whose program handler raised; sessions started later
# (the program went on) and other processes' (after a fork) are not concerned.
_Cause = tuple[int, str, frozenset[object]]
_crash: _Cause | None = None
_signalled: _Cause | None = None
_signal_names: dict[int, str] = {}  # pid -> the signal named by _signalled
# Set while the exit hook waits for the server (not while it spools): a signal cuts the wait.
_waiting = False
# A default-action signal that came during the exit path: re-raised once it is done.
_pending_signal: int | None = None
_in_exit_path = False
# The program's handlers for signals that came while the exit hook spooled: run right after.
_deferred: list[tuple[int, FrameType | None]] = []
# The flush before a program's signal handler: running (nested signals skip it), or given up
# once (the server did not answer in time: later signals do not wait again).
_flushing = False
_flush_failed = False
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
        _installed = True  # at_exit is in atexit's list since `import agentops`
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


def set_shutdown_timeout(seconds: float) -> None:
    """The exit hooks' deadline, changed after install() (configure(shutdown_timeout=...))."""
    global _shutdown_timeout
    _shutdown_timeout = seconds


def end_all(
    state: EndState,
    reason: str | None,
    timeout: float,
    *,
    causes: Sequence[_Cause] = (),
    cuttable: bool = False,
) -> None:
    """End this process's running sessions and wait up to `timeout` s for the server. A
    session running when one of `causes` happened ends as Fail with its reason; `cuttable`
    lets a signal cut the wait short (the exit hook's)."""
    global _gave_up, _waiting
    with capture_internal_errors("end_all"):
        pid = os.getpid()
        ends: dict[_worker.BatchWorker, list[_worker.Command]] = {}
        for session in _recording.active_sessions():
            # a session this process re-attached to (inherited_session_id) is its owner's to
            # end: its events are delivered below, its end state is left alone
            if session._pid == pid and not session._inherited:
                ending, why = state, reason
                for _, cause, ids in causes:
                    if session.session_id in ids:
                        ending, why = EndState.FAIL, cause
                        break
                with capture_internal_errors("end a session at exit"):  # each on its own
                    command = session._finish(ending, why, None)
                    if command is not None:
                        ends.setdefault(session._worker, []).append(command)
        workers = _worker.live_workers()
        done = not _gave_up
        deadline = time.monotonic() + timeout
        if workers and not _gave_up:
            _waiting = cuttable
            try:  # the ends go ahead of a backlog that can't be sent in time, then the rest
                for worker in workers:
                    commands = ends.get(worker) or [worker.put(_worker.Command())]
                    left = max(0.0, deadline - time.monotonic())
                    done = worker.deliver(commands, left) and done
                for worker in workers:
                    done = worker.flush(max(0.0, deadline - time.monotonic())) and done
                if done:
                    done = _send_host_env(workers, deadline)
            except BaseException:  # a second Ctrl+C, or a signal that cut the wait
                _waiting = False
                _gave_up = True
                _keep_unsent(workers, timeout - (deadline - time.monotonic()), 0.0, done=False)
                raise
            finally:
                _waiting = False
        if not done:
            _gave_up = True
        left = 0.0 if _gave_up else max(0.0, deadline - time.monotonic())
        _keep_unsent(workers, timeout, left, done=done)


def _send_host_env(workers: list[_worker.BatchWorker], deadline: float) -> bool:
    """Sessions created before the host environment was collected get what there is of it
    now: the package lists still being read are not waited for (a run shorter than their
    scan, a second or so, has none)."""
    done = True
    for worker in workers:
        if worker.exporter.owes_host_env():
            worker.put(_worker.SendHostEnv(at_exit=True))
            done = worker.flush(max(0.0, deadline - time.monotonic())) and done
    return done


def _keep_unsent(
    workers: list[_worker.BatchWorker], waited: float, left: float, *, done: bool
) -> None:
    """What did not reach the server in time goes to the spool (said on stderr); durable
    journals are deleted when everything was delivered, else kept for the next run. An
    earlier run's file still being sent gets what is `left` of the deadline to finish."""
    for worker in workers if not done else ():
        _worker.report_pending(waited, *worker.spill())
    _spooling.close_all(delivered=done, grace=left)


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


# The two below run in multiprocessing's children, tested by tests/sdk/test_lifecycle.py but
# never measured: the children leave by os._exit(), before coverage saves their data.
def _in_multiprocessing_child(_token: object) -> None:  # pragma: no cover
    """A multiprocessing child: run the exit path from multiprocessing's exit function."""
    global _finalizer_pid
    util = sys.modules.get("multiprocessing.util")
    if util is None or _finalizer_pid == os.getpid():
        return
    _finalizer_pid = os.getpid()
    util.Finalize(None, _at_child_exit, exitpriority=MULTIPROCESSING_EXIT_PRIORITY)


def _at_child_exit() -> None:  # pragma: no cover
    """multiprocessing runs its exit function while the child's exception propagates (and
    never calls sys.excepthook): a child that failed ends its sessions as Fail, as a process
    ended by an uncaught exception does."""
    global _crash
    exc = sys.exc_info()[1]
    if exc is not None and not (isinstance(exc, SystemExit) and exc.code in (None, 0)):
        _crash = (os.getpid(), _reason(type(exc), exc, exc.__traceback__), _running_ids())
    at_exit()


def at_exit() -> None:
    """The exit hook: `import agentops` puts it in atexit's list (see agentops/__init__.py);
    it does nothing until init()."""
    global _exited_pid, _gave_up, _in_exit_path
    pid = os.getpid()
    if _exited_pid == pid or not _installed:  # not installed: agentops was only imported
        return
    _exited_pid = pid
    crash = _crash if _crash is not None and _crash[0] == pid else _hidden_crash()
    causes = [cause for cause in (crash, _signalled) if cause is not None and cause[0] == pid]
    _in_exit_path = True
    python_sigint = _take_sigint()
    # calls that never returned (daemon threads, suspended generators) end with the process
    signalled = _signalled if _signalled is not None and _signalled[0] == pid else None
    if signalled is None:
        _running.end_all(None)
    else:
        _running.end_all(_signal_names.get(pid, "SIGTERM"), sessions=signalled[2])
    try:
        end_all(
            EndState.INDETERMINATE, REASON_NO_END, _shutdown_timeout, causes=causes, cuttable=True
        )
    except BaseException:  # a second signal during the wait: what is unsent stays spooled
        _gave_up = True
    finally:
        _in_exit_path = False
        if python_sigint is not None:
            signal.signal(signal.SIGINT, python_sigint)
    _run_deferred_handlers()
    if _interrupted:
        _keep_sigint_exit()
    if _pending_signal is not None:  # it came during the exit path: its default action now
        signal.signal(_pending_signal, signal.SIG_DFL)
        os.kill(pid, _pending_signal)


def _take_sigint() -> Handler:
    """Python's own Ctrl+C handler would raise KeyboardInterrupt into the spooling of what is
    unsent as well as into the wait: for the exit path, a Ctrl+C cuts the wait only. Returns
    the handler to put back after (None: SIGINT left alone, the program's or not on the main
    thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    signal.signal(signal.SIGINT, _on_sigint_at_exit)
    return signal.default_int_handler


def _on_sigint_at_exit(signum: int, frame: FrameType | None) -> None:
    if _waiting:  # else the spool is being written: it goes on, and so does the exit
        raise _WaitCut("SIGINT")


def _run_deferred_handlers() -> None:
    """The program's handlers of the signals that came while the exit hook spooled. The
    process is leaving already: what they raise (sys.exit, most often) changes nothing."""
    while _deferred:
        signum, frame = _deferred.pop(0)
        try:
            _chain(signum, frame)
        except BaseException:
            pass


def _running_ids() -> frozenset[object]:
    pid = os.getpid()
    return frozenset(s.session_id for s in _recording.active_sessions() if s._pid == pid)


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """Remember why the process ends; the exit hook ends the sessions running now, once the
    program's other threads are done (they may still record, and end sessions themselves)."""
    global _interrupted, _crash
    if issubclass(exc_type, KeyboardInterrupt):  # the Ctrl+C was not caught: it ends the process
        _interrupted = True
    # at the interactive prompt (or before it, python -i) an error ends nothing
    if not (hasattr(sys, "ps1") or sys.flags.inspect):
        _crash = (os.getpid(), _reason(exc_type, exc, tb), _running_ids())
    previous = _previous_excepthook or sys.__excepthook__
    previous(exc_type, exc, tb)


def _hidden_crash() -> _Cause | None:
    """An uncaught exception that a hook installed after ours hid (see _last_exception)."""
    global _interrupted
    found = uncaught_exception()
    if found is None:
        return None
    exc, tb = found
    if isinstance(exc, KeyboardInterrupt):  # the Ctrl+C ended the process: keep its status
        _interrupted = True
    return (os.getpid(), _reason(type(exc), exc, tb), _running_ids())


def _reason(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    """A session's end reason for the exception that ends the process."""
    if issubclass(exc_type, KeyboardInterrupt):  # a Ctrl+C, or a handler that raised it
        return f"Signal {_signal_names.get(os.getpid(), signal.SIGINT.name)} detected"
    return f"{exc}: " + "".join(traceback.format_exception(exc_type, exc, tb))


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
    pid = os.getpid()
    if callable(_previous_handlers.get(signum)):
        if _waiting:  # the process is leaving already: stop waiting, spool what is unsent,
            _deferred.append((signum, frame))  # then the program's handler (it may os._exit)
            raise _WaitCut(name)
        if _in_exit_path:  # the exit hook is spooling what is unsent: its handler right after
            _deferred.append((signum, frame))  # (what it raised would cut the spooling short)
            return
        # the program's own handler decides whether this ends the process, and may end it at
        # once (os._exit, the default action): what is queued is sent first
        try:
            _flush(_shutdown_timeout)
        finally:  # even if a Ctrl+C cut the flush short: the program's handler runs
            _signalled = (pid, f"Signal {name} detected", _running_ids())
            _signal_names[pid] = name
            _chain(signum, frame)  # if it raises, the exit hooks end those sessions as Fail
        _signalled = None  # it returned: the program goes on, and so do its sessions
        _signal_names.pop(pid, None)
        return
    _end_then_default_action(signum, frame, name)


# Tested by tests/sdk/test_lifecycle.py (SIG_DFL SIGTERM and SIGINT, a SIGTERM during the exit
# wait), but never measured: the process dies of the signal before coverage saves its data.
def _end_then_default_action(
    signum: int, frame: FrameType | None, name: str
) -> None:  # pragma: no cover
    global _pending_signal
    if _waiting:  # a second signal: stop waiting, spool what is unsent, then its default action
        _pending_signal = signum
        raise _WaitCut(name)
    if _in_exit_path:  # the exit hook is spooling: its default action right after
        _pending_signal = signum
        return
    if signum not in _handling:
        _handling.add(signum)
        try:
            logger.info("%s detected. Ending sessions...", name)
            _running.end_all(name, frame)  # no stack unwinds: the calls running end here
            end_all(EndState.FAIL, f"Signal {name} detected", _shutdown_timeout)
        finally:
            _handling.discard(signum)
    _chain(signum, frame)


def _flush(timeout: float) -> None:
    """Send what is queued, waiting up to `timeout` s in all: once at a time (a signal that
    comes meanwhile does not wait again), and never again once the server did not answer."""
    global _flushing, _flush_failed
    if _flushing or _flush_failed or _gave_up:
        return
    _flushing = True
    try:
        with capture_internal_errors("flush before the program's signal handler"):
            deadline = time.monotonic() + timeout
            for worker in _worker.live_workers():
                if not worker.flush(max(0.0, deadline - time.monotonic())):
                    _flush_failed = True
    finally:
        _flushing = False


def _chain(signum: int, frame: FrameType | None) -> None:
    """Do what the handler in place before ours would have done."""
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):  # the program's own handler
        previous(signum, frame)
        return
    if previous == signal.SIG_DFL:  # pragma: no cover - the process dies of it, unmeasured
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
