"""BatchWorker: one daemon thread for every session of the process (Sentry's worker, OTel's
BatchProcessor).

record() appends (session, event) to a bounded deque: O(1), no lock, no I/O. Commands
(create/update session, create agent, flush barriers) go through the same deque, so the order
"create_session, events, end update" holds. The thread wakes when a batch is full, a command
arrives or the interval passes, and sends everything queued. A full queue drops and counts.

deliver() waits for commands with a deadline: the events queued before them get the first
part of it; if they are not all sent by then, the commands jump the queue (run next, once),
so a session's end reaches the server even behind a backlog that can't drain in time.
After a fork the child gets a fresh queue and starts its own thread on first use.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentops._errors import capture_internal_errors, logger

# deliver(): the part of a deadline kept for commands that had to jump the queue.
EXPEDITE_RESERVE = 1.0
EXPEDITE_SHARE = 0.4

if TYPE_CHECKING:
    from agentops._events import Event
    from agentops._exporter import Exporter
    from agentops._session import Session


class Command:
    """A unit of work for the worker thread; `done` is set once it ran (or was given up)."""

    def __init__(self, session: Session | None = None) -> None:
        self.session = session
        self.done = threading.Event()
        self.result: Any = None
        self.claimed = False  # set by the worker thread when it starts running it

    def run(self, exporter: Exporter) -> None:
        """Barrier by default: reaching it means everything before it was sent."""

    def wait(self, timeout: float | None) -> bool:
        return self.done.wait(timeout)


class BatchWorker:
    """The queue, its thread and the drop counter."""

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        self.capacity = 100_000
        self.batch_size = 500
        self.interval = 2.0
        self.dropped = 0
        self._reported_drops = 0
        self._queue: deque[tuple[Session, Event] | Command] = deque()
        self._wake = threading.Event()
        self._lock = threading.RLock()  # RLock: a signal handler may flush from inside
        self._thread: threading.Thread | None = None
        self._in_flight = 0

    def configure(self, capacity: int, batch_size: int, interval_ms: int) -> None:
        self.capacity = capacity
        self.batch_size = max(1, batch_size)
        self.interval = max(0.001, interval_ms / 1000)

    # --- caller side (any thread) -------------------------------------------------------
    def put_event(self, session: Session, event: Event) -> bool:
        """Queue one event; False (and counted) when the queue is full."""
        queue = self._queue
        if len(queue) >= self.capacity:
            self.count_dropped(1)
            return False
        queue.append((session, event))
        if self._thread is None:
            self._start()
        elif len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def put(self, command: Command) -> Command:
        """Queue a command (never dropped: commands are few) and wake the thread."""
        self._queue.append(command)
        if self._thread is None:
            self._start()
        self._wake.set()
        self.exporter.nudge.set()
        return command

    def flush(self, timeout: float | None) -> bool:
        """Send everything queued so far; False if `timeout` seconds passed first."""
        return self.put(Command()).wait(timeout)

    def deliver(self, commands: Sequence[Command], timeout: float | None) -> bool:
        """Wait until `commands` (queued already) ran; False if `timeout` s passed first.

        The events queued before them may use the deadline minus a reserve; then the
        commands still waiting are run next, ahead of the rest of the queue.
        """
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

    def pending(self) -> int:
        """Events queued or being sent."""
        queued = sum(1 for item in list(self._queue) if isinstance(item, tuple))
        return queued + self._in_flight

    def count_dropped(self, n: int) -> None:
        with self._lock:
            self.dropped += n

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="agentops-worker", daemon=True)
                thread.start()
                self._thread = thread

    def after_fork(self) -> None:
        """In a forked child: the parent's queue and thread are not ours."""
        self._queue = deque()
        self._wake = threading.Event()
        self._lock = threading.RLock()
        self._thread = None
        self._in_flight = 0

    # --- worker thread ------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            with capture_internal_errors("worker"):
                self._drain()
            self._report_drops()

    def _drain(self) -> None:
        queue = self._queue
        batch: dict[Session, list[Event]] = {}
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

    def _send(self, batch: dict[Session, list[Event]]) -> None:
        self._in_flight = sum(len(events) for events in batch.values())
        for session, events in batch.items():
            with capture_internal_errors("send events"):
                self.exporter.send_events(session, events)
            self._in_flight -= len(events)
        self._in_flight = 0

    def _report_drops(self) -> None:
        dropped = self.dropped
        if dropped != self._reported_drops:
            logger.warning(
                "%d event(s) dropped so far (queue full or rejected by the server); "
                "raise max_queue_size or check the server",
                dropped,
            )
            self._reported_drops = dropped


def report_pending(worker: BatchWorker, waited: float) -> None:
    """What the exit hooks print when they give up waiting for the server."""
    pending = worker.pending()
    if pending:
        print(
            f"agentops: {pending} event(s) not sent after waiting {waited:.1f}s for the server",
            file=sys.stderr,
        )


_worker: BatchWorker | None = None
_worker_lock = threading.Lock()


def get_worker() -> BatchWorker:
    """The process's worker, created on first use."""
    global _worker
    if _worker is None:
        with _worker_lock:
            if _worker is None:
                from agentops._exporter import Exporter

                _worker = BatchWorker(Exporter())
    return _worker


def _after_fork_in_child() -> None:
    if _worker is not None:
        _worker.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
