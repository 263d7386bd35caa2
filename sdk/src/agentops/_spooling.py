"""A client's use of the spool (agentops._spool): nothing the server could not take is lost.

- Events given up for lack of an answer (the server stayed unreachable past the retry
  budget) and final session updates that got no answer are written to the spool.
- At exit, what is still queued when the shutdown deadline passes is written to the spool.
- In durable mode every session start, event and end is also journaled as it is recorded,
  so even `kill -9` or `os._exit()` loses at most the last 100 ms.
- At init, files left by earlier processes are sent in the background, each one once.

What the spool cannot keep (it is full, or off) is counted as lost and reported to the
server with the session (`dropped_events`).
"""

from __future__ import annotations

import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentops._config import Configuration
from agentops._encode import event_to_wire
from agentops._errors import capture_internal_errors, logger
from agentops._outcome import BatchResult
from agentops._spool import (
    Destination,
    Journal,
    Line,
    Spool,
    default_directory,
    end_line,
    events_line,
    session_line,
)
from agentops._threads import start_daemon_thread
from agentops._transport import Transport, prepare

if TYPE_CHECKING:
    from agentops._exporter import Target
    from agentops._worker import BatchWorker

SPOOL_FULL = "spool_full"
UNREACHABLE = "unreachable"
SENDER_GRACE_SECONDS = 2.0


def spool_of(config: Configuration) -> Spool:
    directory = Path(config.spool_dir) if config.spool_dir else default_directory()
    return Spool(directory, config.spool_max_bytes)


def destination_of(config: Configuration) -> Destination:
    return Destination(config.endpoint, config.api_key or "", config.parent_key)


class Spooler:
    """The spool of one client: the worker's keeper, the durable journal, the exit spill."""

    def __init__(self, config: Configuration, transport: Transport) -> None:
        self.spool = spool_of(config)
        self._transport = transport
        self._sessions: weakref.WeakValueDictionary[str, Target] = weakref.WeakValueDictionary()
        self.journal: Journal | None = None
        self._sender: threading.Thread | None = None
        if config.durable:
            self.journal = self.spool.open_journal(destination_of(config))
        _spoolers.add(self)

    @property
    def directory(self) -> Path:
        return self.spool.directory

    def room(self) -> int:
        return self.spool.room()

    # --- sessions -----------------------------------------------------------------------
    def track(self, session: Target) -> None:
        """A session of this client started: the spool may need its snapshot later."""
        self._sessions[str(session.session_id)] = session
        journal = self.journal
        if journal is not None:
            journal.add(lambda: session_line(session.wire_snapshot()))

    # --- the worker's keeper --------------------------------------------------------------
    def keep_events(self, result: BatchResult) -> str | None:
        """Spool events the server did not answer for: None when kept, else the loss key."""
        session = self._sessions.get(result.session_id or "")
        if session is None or not result.events or not self.spool.available:
            return UNREACHABLE
        sid = str(session.session_id)
        lines = [session_line(session.wire_snapshot()), events_line(sid, result.events)]
        if self.spool.save(destination_of(session.config), lines):
            return None
        return SPOOL_FULL

    def keep_update(self, session: Target, snapshot: dict[str, Any]) -> None:
        """A final session update got no answer: keep it for the next process."""
        sid = str(session.session_id)
        lines = [session_line(session.wire_snapshot()), end_line(sid, snapshot)]
        if self.spool.save(destination_of(session.config), lines):
            logger.info("Session %s: its end is kept in the spool %s", sid, self.spool.directory)

    # --- exit ---------------------------------------------------------------------------
    def spill(self, worker: BatchWorker) -> tuple[int, int]:
        """At exit, after the deadline: write what is still unsent to the spool, one file per
        destination. Returns the number of events taken, and of those kept."""
        from agentops._session import CreateSession, UpdateSession

        unsent, commands = worker.take_unsent()
        sessions: dict[Target, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for command in commands:
            if isinstance(command, CreateSession | UpdateSession):
                events, ends = sessions.setdefault(command.target, ([], []))
                if isinstance(command, UpdateSession):
                    ends.append(command.snapshot)
        for session, queued in unsent.items():
            sid = str(session.session_id)
            events, _ = sessions.setdefault(session, ([], []))
            for event in queued:
                with capture_internal_errors("spool event"):
                    events.append(event_to_wire(event, sid))
        files: dict[Destination, tuple[list[Line], int]] = {}
        for session, (events, ends) in sessions.items():
            sid = str(session.session_id)
            lines, count = files.get(destination_of(session.config), ([], 0))
            lines.append(session_line(session.wire_snapshot()))
            if events:
                lines.append(events_line(sid, events))
            lines += [end_line(sid, snapshot) for snapshot in ends]
            files[destination_of(session.config)] = (lines, count + len(events))
        kept = sum(
            count
            for destination, (lines, count) in files.items()
            if self.spool.save(destination, lines)
        )
        return sum(len(queued) for queued in unsent.values()), kept

    def close(self, *, delivered: bool, grace: float) -> None:
        """At exit: a journal whose every line reached the server is deleted, else kept. An
        earlier run's file being sent gets a moment to finish (else it is sent next time): at
        most SENDER_GRACE_SECONDS, and only what the exit deadline leaves (`grace`), once: the
        exit hooks that follow (excepthook, then atexit) do not wait for it again."""
        sender, self._sender = self._sender, None
        if sender is not None and sender.is_alive():
            sender.join(min(SENDER_GRACE_SECONDS, grace))
        if self.journal is not None:
            self.journal.close(delivered=delivered)

    # --- earlier processes' files -----------------------------------------------------------
    def send_earlier_files(self) -> threading.Thread | None:
        """Send, in the background, what earlier processes left in the spool."""
        if not self.spool.available or self.spool.pending() == 0:
            return None
        # an earlier run's endpoint may be https, whatever this one's: certificates are
        # loaded here, on init()'s thread, not on the sender's (see _transport._tls_settings)
        prepare(self._transport, "https://")
        thread = start_daemon_thread(self._send_all, "agentops-spool")
        self._sender = thread
        return thread

    def _send_all(self) -> None:
        with capture_internal_errors("spool send"):
            report = self.spool.send_all(self._transport)
            if report.files:
                logger.info(
                    "Sent %d event(s) of %d session(s) that earlier runs left in the spool %s",
                    report.events,
                    report.sessions,
                    self.spool.directory,
                )


_spoolers: weakref.WeakSet[Spooler] = weakref.WeakSet()


def close_all(*, delivered: bool, grace: float) -> None:
    """At exit: every client's spool (see Spooler.close), `grace` seconds at most in all."""
    deadline = time.monotonic() + grace
    for spooler in list(_spoolers):
        spooler.close(delivered=delivered, grace=max(0.0, deadline - time.monotonic()))
