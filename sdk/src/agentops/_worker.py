"""BatchWorker: a client's queue and its one daemon thread (Sentry's worker, OTel's
BatchProcessor). Each Client owns one, built from its own settings.

record() appends (session, event) to a bounded deque: O(1), no lock, no I/O. Commands
(create/update session, create agent, flush barriers) go through the same deque, so the order
"create_session, events, end update" holds. The thread wakes when a batch is full, a command
arrives or the interval passes, and sends everything queued. A full queue drops and counts.
The exporter returns what became of each batch (sent, refused, dropped, and why); the worker
counts it and hands it to its listeners (add_listener), the hook for anything that keeps
what the server did not take.

deliver() waits for commands with a deadline: the events queued before them get the first
part of it; if they are not all sent by then, the commands jump the queue (run next, once),
so a session's end reaches the server even behind a backlog that can't drain in time.
After a fork the child gets a fresh queue and starts its own thread on first use.

The thread ends after IDLE_EXIT_SECONDS without work and the next put() starts a new one. At
exit, CPython 3.12.0 to 3.12.2 refuse to start threads ("can't create new thread at interpreter
shutdown"): then put() still queues, and whoever waits for the queue (end_session(), the exit
hooks) writes it to the spool on its own thread at once instead of waiting in vain.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agentops import _outcome
from agentops._encode import event_to_wire
from agentops._errors import capture_internal_errors, logger, report_internal_error
from agentops._outcome import BatchResult, Listener, Outcome
from agentops._spool import Journal, Line, events_line
from agentops._threads import start_daemon_thread

# deliver(): the part of a deadline kept for commands that had to jump the queue.
EXPEDITE_RESERVE = 1.0
EXPEDITE_SHARE = 0.4
IDLE_EXIT_SECONDS = 30.0
# deliver(unless_unreachable=True): how long the retry of a server known unreachable is awaited
UNREACHABLE_PROBE = 0.5

if TYPE_CHECKING:
    from agentops._events import Event, Frame
    from agentops._exporter import Exporter
    from agentops._exporter import Target as Session


SPILL_MIN_ROOM = 1 << 20  # bytes the spool must have free for the queue to spill into it


class Keeper(Protocol):
    """Keeps what the server did not answer for (the spool)."""

    def keep_events(self, result: BatchResult) -> str | None:
        """None if it kept the events, else the loss key to count them under."""

    def keep_update(self, session: Session, snapshot: dict[str, Any]) -> None: ...

    @property
    def directory(self) -> Path: ...

    def room(self) -> int:
        """Bytes it can still keep (0 when it cannot keep anything here)."""

    def spill(self, worker: BatchWorker) -> tuple[int, int]:
        """Take what `worker` has not sent and keep it: (events taken, events kept)."""


class Command:
    """A unit of work for the worker thread; `done` is set once it ran (or was given up)."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.claimed = False  # set by the worker thread when it starts running it

    def run(self, exporter: Exporter) -> None:
        """Barrier by default: reaching it means everything before it was sent."""

    def wait(self, timeout: float | None) -> bool:
        return self.done.wait(timeout)


class SendHostEnv(Command):
    """Queued once the host environment is collected in full: it goes to the sessions created
    before (Exporter.send_host_env); at exit, what there is of it."""

    def __init__(self, at_exit: bool = False) -> None:
        super().__init__()
        self.at_exit = at_exit

    def run(self, exporter: Exporter) -> None:
        exporter.send_host_env(self.at_exit)


class BatchWorker:
    """The queue, its thread, and the count of what became of every event."""

    def __init__(
        self,
        exporter: Exporter,
        capacity: int = 100_000,
        batch_size: int = 500,
        interval_ms: int = 2000,
    ) -> None:
        self.exporter = exporter
        self.capacity = capacity
        self.batch_size = max(1, batch_size)
        self.interval = max(0.001, interval_ms / 1000)
        self.counts: Counter[Outcome] = Counter()
        self.lost_reasons: Counter[str] = Counter()  # refused or dropped, by reason
        # per running session id: what was lost, by loss_key (reported to the server with the
        # session's updates); from track_losses() until its final update reported them
        self.losses: dict[str, Counter[str]] = {}
        # The spool of the client, offered what gets no answer (agentops._spooling.Spooler).
        self.keeper: Keeper | None = None
        # the batch being sent: the sessions whose events have no answer yet
        self._sending: dict[Session, list[Event | Frame]] = {}
        self.journal: Journal | None = None  # durable mode: every event queued is journaled
        self._listeners: list[Listener] = []
        self._reported_full = 0  # queue-full drops said so far
        self._queue: deque[tuple[Session, Event | Frame] | Command] = deque()
        # spilling to the spool begins at 80% of the capacity and ends at 25%
        self._spill_at = max(1, capacity * 4 // 5)
        self._spill_until = capacity // 4
        exporter.spill_check = self._spill_if_near_full
        self._spilled_before = False
        self._spool_refused = False  # the spool kept nothing once (full): no spilling again
        self._wake = threading.Event()
        self._lock = threading.RLock()  # RLock: a signal handler may flush from inside
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._stop_requested = False
        _live.add(self)

    @property
    def dropped(self) -> int:
        """Events that did not reach the server: refused by it, or dropped."""
        return self.counts[Outcome.REFUSED] + self.counts[Outcome.DROPPED]

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(result)` on the worker thread for every batch result."""
        self._listeners.append(listener)

    # --- caller side (any thread) -------------------------------------------------------
    def put_event(self, session: Session, event: Event | Frame) -> bool:
        """Queue one event; False (and counted) when the queue is full."""
        queue = self._queue
        if len(queue) >= self.capacity:
            self.account(_outcome.dropped(1, _outcome.QUEUE_FULL, str(session.session_id)))
            return False
        queue.append((session, event))
        if len(queue) >= self._spill_at and self.exporter.struggling:
            self._spill_if_near_full()
        journal = self.journal
        if journal is not None:  # durable mode: built and written on the journal's thread
            journal.add(functools.partial(_journal_line, session, event))
        if self._thread is None:
            self._start()
        elif len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def _spill_if_near_full(self) -> bool:
        """When the queue nears max_queue_size while the server fails, the batches go to the
        spool (sent by the next run) rather than events being dropped once it is full. True
        if spilling (it began now, or earlier)."""
        exporter = self.exporter
        if exporter.spilling:
            return True
        keeper = self.keeper
        if keeper is None or self._spool_refused or len(self._queue) < self._spill_at:
            return False
        if keeper.room() < SPILL_MIN_ROOM:  # it could not keep them: ride out the outage
            return False
        exporter.spilling = True
        exporter.nudge.set()  # a retry waiting out its backoff gives up now
        say = logger.debug if self._spilled_before else logger.warning  # once is enough
        self._spilled_before = True
        say(
            "the server is not taking events and %d are waiting (max_queue_size "
            "%d): they go to the spool %s until it answers; the next run that calls init() "
            "sends them",
            len(self._queue),
            self.capacity,
            keeper.directory,
        )
        return True

    def put(self, command: Command) -> Command:
        """Queue a command (never dropped: commands are few) and wake the thread."""
        self._queue.append(command)
        if self._thread is None:
            self._start()
        self._wake.set()
        self.exporter.nudge.set()
        return command

    def stranded(self) -> bool:
        """Work is queued and no thread runs: none could start (the interpreter is exiting)."""
        return self._thread is None and bool(self._queue) and not self._start()

    def keep_stranded(self) -> None:
        """What a stranded worker holds goes to the spool now, on the calling thread (a
        bounded file write), and the number of events kept or lost is printed."""
        with capture_internal_errors("spool a stranded queue"):
            report_pending(0.0, *self.spill())
            self._queue.clear()  # without a spool: lost, as said just above

    def spill(self) -> tuple[int, int, Keeper | None]:
        """At exit: what is unsent (the queue, the sessions of the batch in flight) goes to the
        spool. (events unsent, events kept, the keeper); without a spool nothing is taken."""
        keeper = self.keeper
        if keeper is None:
            return self.pending(), 0, None
        return (*keeper.spill(self), keeper)

    def stop(self) -> Command:
        """Send everything queued, then end the thread (no waiting: the returned command is
        done once that happened). The exit hooks still flush it if the thread is still
        running; a later put() starts a new thread."""
        self._stop_requested = True
        return self.put(Command())

    def flush(self, timeout: float | None) -> bool:
        """Send everything queued so far; False if `timeout` seconds passed first (or no
        thread can send it: it is spooled, see keep_stranded)."""
        command = self.put(Command())  # a barrier: it never jumps the queue (see deliver)
        if self.stranded():
            self.keep_stranded()
            return False
        return command.wait(timeout)

    def deliver(
        self,
        commands: Sequence[Command],
        timeout: float | None,
        *,
        unless_unreachable: bool = False,
    ) -> bool:
        """Wait until `commands` (queued already) ran; False if `timeout` s passed first.

        The events queued before them may use the deadline minus a reserve; then the
        commands still waiting are run next, ahead of the rest of the queue. A stranded
        worker keeps them in the spool at once and returns False. `unless_unreachable`: no
        waiting (False) when the exporter knows the server unreachable already (a blip
        during the wait is retried, and waited for, as before).
        """
        if self.stranded() and not all(c.done.is_set() for c in commands):
            self.keep_stranded()
            return False
        if unless_unreachable and not self._answered_again(commands):
            return all(c.done.is_set() for c in commands)
        if timeout is None:
            return all(c.wait(None) for c in commands)
        deadline = time.monotonic() + timeout
        reserve = min(EXPEDITE_RESERVE, timeout * EXPEDITE_SHARE)
        if all(c.wait(max(0.0, deadline - reserve - time.monotonic())) for c in commands):
            return True
        for command in reversed(commands):
            if not command.claimed:
                self._queue.appendleft(command)  # a second entry; it runs once
        self._wake.set()
        self.exporter.nudge.set()
        return all(c.wait(max(0.0, deadline - time.monotonic())) for c in commands)

    def _answered_again(self, commands: Sequence[Command]) -> bool:
        """False when the server is known unreachable and the retry that queueing `commands`
        nudged (at once, out of its backoff) found it so again, or got no answer within
        UNREACHABLE_PROBE seconds; True when it answered (the server is back)."""
        exporter = self.exporter
        if not exporter.unreachable.is_set():
            return True
        seen = exporter.attempts
        until = time.monotonic() + UNREACHABLE_PROBE
        while exporter.attempts == seen and time.monotonic() < until:
            if commands[-1].done.wait(0.01):
                break
        return not exporter.unreachable.is_set()

    def pending(self) -> int:
        """Events queued or being sent."""
        queued = sum(1 for item in list(self._queue) if isinstance(item, tuple))
        return queued + self._in_flight

    def account(self, result: BatchResult) -> None:
        """Count one result and hand it to the listeners (any thread; never raises)."""
        key = None
        if result.outcome is Outcome.DROPPED and result.events is not None and self.keeper:
            try:
                key = self.keeper.keep_events(result)
            except Exception as exc:
                report_internal_error(exc, "spool")
                key = "unreachable"
            if key is None:
                result = dataclasses.replace(result, outcome=Outcome.SPOOLED)
            elif self.exporter.spilling:  # the spool cannot take them: back to retrying
                self._spool_refused = True
                self.exporter.spilling = False
        with self._lock:
            self.counts[result.outcome] += result.count
            if result.outcome not in (Outcome.SENT, Outcome.SPOOLED):
                if result.reason is not None:
                    self.lost_reasons[result.reason] += result.count
                losses = self.losses.get(result.session_id or "")
                if losses is not None:  # else its end was reported: too late to say it
                    losses[key or _outcome.loss_key(result)] += result.count
        if result.outcome is Outcome.SPOOLED:
            logger.info("%d event(s) kept in the spool: %s", result.count, result.reason)
        elif result.outcome is not Outcome.SENT and result.reason not in _outcome.SAID_ELSEWHERE:
            logger.warning("%d event(s) %s: %s", result.count, result.outcome.value, result.reason)
        for listener in self._listeners:
            try:
                listener(result)
            except Exception as exc:
                report_internal_error(exc, "batch listener")

    def track_losses(self, session_id: str) -> None:
        """Count a session's losses from now on, for its updates and stats line."""
        with self._lock:
            self.losses.setdefault(session_id, Counter())

    def forget_losses(self, session_id: str) -> None:
        """Its final update reported them: a process running many sessions keeps none."""
        with self._lock:
            self.losses.pop(session_id, None)

    def _start(self) -> bool:
        """Start the thread if none runs; False if the interpreter refused to start one."""
        with self._lock:
            if self._thread is None:
                try:
                    start_daemon_thread(self._run, "agentops-worker", started=self._running)
                except RuntimeError as exc:  # "can't create new thread at interpreter shutdown"
                    logger.debug("agentops: the worker thread could not start: %s", exc)
                    return False
            return True

    def _running(self, thread: threading.Thread) -> None:
        self._thread = thread

    def after_fork(self) -> None:
        """In a forked child: the parent's queue and thread are not ours."""
        self._queue = deque()
        self._wake = threading.Event()
        self._lock = threading.RLock()
        self._thread = None
        self._in_flight = 0
        self._stop_requested = False
        self._sending = {}

    # --- worker thread ------------------------------------------------------------------
    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            woken = self._wake.wait(self.interval)
            self._wake.clear()
            if self._queue or woken:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= IDLE_EXIT_SECONDS and self._stop_if_idle():
                return
            with capture_internal_errors("worker"):
                self._drain()
            self._report_drops()
            if self._stop_requested and self._stop_if_idle():
                return

    def _stop_if_idle(self) -> bool:
        """End the thread of a worker with nothing to do (a client no longer used leaves
        no thread behind); the next put() starts a new one."""
        with self._lock:
            if self._queue:
                return False
            self._thread = None
            self._stop_requested = False
        if self._queue:  # put() saw the old thread between our check and the line above
            self._start()
        return True

    def _drain(self) -> None:
        queue = self._queue
        batch: dict[Session, list[Event | Frame]] = {}
        count = 0
        while True:
            try:
                item = queue.popleft()
            except IndexError:
                break
            if isinstance(item, tuple):
                session, event = item
                batch.setdefault(session, []).append(event)
                count += 1
                if count >= self.batch_size:
                    self._send(batch)
                    batch, count = {}, 0
                continue
            if item.claimed:  # jumped the queue earlier: this is its second entry
                continue
            if batch:
                self._send(batch)
                batch, count = {}, 0
            item.claimed = True
            try:
                with capture_internal_errors("worker command"):
                    item.run(self.exporter)
            finally:
                item.done.set()
        if batch:
            self._send(batch)

    def take_unsent(self) -> tuple[dict[Session, list[Event | Frame]], list[Command]]:
        """Everything not known to be delivered: the queue (emptied) and the batch being sent
        (it may still arrive: the server stores an event once). For the exit path."""
        unsent: dict[Session, list[Event | Frame]] = {}
        for session, events in list(self._sending.items()):
            unsent.setdefault(session, []).extend(events)
        commands: list[Command] = []
        while True:
            try:
                item = self._queue.popleft()
            except IndexError:
                break
            if isinstance(item, tuple):
                unsent.setdefault(item[0], []).append(item[1])
            elif not item.done.is_set():
                commands.append(item)
        return unsent, commands

    def _send(self, batch: dict[Session, list[Event | Frame]]) -> None:
        self._sending = dict(batch)
        self._in_flight = sum(len(events) for events in batch.values())
        for session, events in batch.items():
            with capture_internal_errors("send events"):
                for result in self.exporter.send_events(session, events):
                    self.account(result)
            del self._sending[session]  # answered for: not taken at exit (nor counted)
            self._in_flight -= len(events)
        self._in_flight = 0
        self._sending = {}
        if self.exporter.spilling and len(self._queue) <= self._spill_until:
            self.exporter.spilling = False  # drained enough: back to riding out the outage

    def _report_drops(self) -> None:
        """Say how many events found the queue full so far (record() itself never logs);
        every other loss was logged as it happened (a refused API key once)."""
        full = self.lost_reasons[_outcome.QUEUE_FULL]
        if full != self._reported_full:
            logger.warning(
                "%d event(s) dropped so far because the queue was full (max_queue_size %d); "
                "raise max_queue_size or check the server",
                full,
                self.capacity,
            )
            self._reported_full = full


def _journal_line(session: Session, event: Event | Frame) -> Line:
    session_id = str(session.session_id)
    return events_line(session_id, [event_to_wire(event, session_id)])


def report_pending(waited: float, unsent: int, kept: int, keeper: Keeper | None) -> None:
    """What the exit hooks print when they give up waiting for the server: `unsent` events
    (queued, or of a session in the batch in flight), where they went: `kept` in the spool,
    the rest lost."""
    if not unsent:
        return
    where = ""
    if kept and keeper is not None:
        where = (
            f"; {kept} kept in the spool {keeper.directory}: the next run that calls "
            "agentops.init() sends them (or: python -m agentops.spool send)"
        )
    lost = unsent - kept
    if lost:
        where += f"; {lost} lost ({_why_lost(keeper)})"
    print(
        f"agentops: {unsent} event(s) not sent after waiting {waited:.1f}s for the server{where}",
        file=sys.stderr,
    )


def _why_lost(keeper: Keeper | None) -> str:
    if keeper is None:
        return "no spool to keep them: the spool setting is off"
    return f"the spool {keeper.directory} is full or cannot be written"


_live: weakref.WeakSet[BatchWorker] = weakref.WeakSet()


def live_workers() -> list[BatchWorker]:
    """Every worker of the process that has a thread or work queued (the exit hooks flush
    them)."""
    return [w for w in list(_live) if w._thread is not None or w._queue]


def _after_fork_in_child() -> None:
    for worker in list(_live):
        worker.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
