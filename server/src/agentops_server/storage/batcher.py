"""WriteBatcher: background writer threads that coalesce concurrent append_events submissions
into bounded transactions. A submission's future resolves only after its COMMIT, so the API
acknowledges only stored events; close() drains everything already submitted.

One writer for SQLite (one file, one writer). On PostgreSQL several writers overlap one
transaction's Python work with another's database work; row locks keep statistics exact.

A writer also runs whole jobs (run()): work that reads, builds and writes in one go, such as
an OTLP request from its bytes to its commit. On SQLite that keeps one thread doing all of it:
handing a request from thread to thread costs more CPU than it saves when the GIL lets only one
of them run Python at a time (docs/otel.md, Speed).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from agentops_server.storage.records import AppendResult, EventWrite

logger = logging.getLogger(__name__)

MAX_ROWS_PER_TRANSACTION = 5000
T = TypeVar("T")


class BatchAppender(Protocol):
    def append_event_batches(
        self, batches: Sequence[Sequence[EventWrite]]
    ) -> list[AppendResult]: ...


@dataclass(slots=True)
class _Submission:
    events: Sequence[EventWrite]
    future: Future[AppendResult]


@dataclass(slots=True)
class _Job:
    work: Callable[[], Any]
    future: Future[Any]

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.work()
        except BaseException as exc:  # the caller sees it; the writer goes on
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


class WriterClosed(RuntimeError):
    """submit() after close(): the server is shutting down."""


class WriteBatcher:
    def __init__(
        self, store: BatchAppender, max_rows: int = MAX_ROWS_PER_TRANSACTION, writers: int = 1
    ) -> None:
        if writers < 1:
            raise ValueError(f"writers must be at least 1, got {writers}")
        self._store = store
        self._max_rows = max_rows
        self._queue: queue.SimpleQueue[_Submission | _Job | None] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"agentops-writer-{n}", daemon=True)
            for n in range(writers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, events: Sequence[EventWrite]) -> Future[AppendResult]:
        """Queue events; the future gives their AppendResult once committed (or the error)."""
        future: Future[AppendResult] = Future()
        self._put(_Submission(list(events), future))
        return future

    def run(self, work: Callable[[], T]) -> Future[T]:
        """Queue `work` for a writer thread; the future gives what it returns (or raises).
        Submissions queued before it are committed first."""
        future: Future[T] = Future()
        self._put(_Job(work, future))
        return future

    def _put(self, item: _Submission | _Job) -> None:
        with self._close_lock:
            if self._closed:
                raise WriterClosed("the writer is closed")
            self._queue.put(item)

    def close(self, timeout: float | None = None) -> bool:
        """Stop accepting, commit everything already submitted; False if the deadline hit."""
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)  # each writer passes it on as it stops
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    # --- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        carry: _Submission | _Job | None = None
        stopping = False
        while True:
            first = carry if carry is not None else self._queue.get()
            carry = None
            if first is None:
                self._queue.put(None)  # for the next writer
                return
            if isinstance(first, _Job):
                first.run()
                continue
            group = [first]
            rows = len(first.events)
            while rows < self._max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                if isinstance(nxt, _Job) or rows + len(nxt.events) > self._max_rows:
                    carry = nxt
                    break
                group.append(nxt)
                rows += len(nxt.events)
            self._commit(group)
            if stopping:
                self._queue.put(None)  # after the carry, if any: it is committed first
                stopping = False

    def _commit(self, group: list[_Submission]) -> None:
        live = [s for s in group if s.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            results = self._store.append_event_batches([s.events for s in live])
        except Exception:
            logger.debug("combined append failed; retrying each submission alone", exc_info=True)
            # one bad submission must fail only itself (and a transient error gets a retry)
            for submission in live:
                try:
                    result = self._store.append_event_batches([submission.events])[0]
                except Exception as exc:
                    submission.future.set_exception(exc)
                else:
                    submission.future.set_result(result)
            return
        for submission, result in zip(live, results, strict=True):
            submission.future.set_result(result)
