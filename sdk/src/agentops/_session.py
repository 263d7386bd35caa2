"""Session: one run of an agent. record() only queues; the worker talks to the server.

A Session is a context manager (an exception inside ends it as Fail with the traceback,
else Success). end_session() sends the queued events, then the end update, and returns the
session's cost as the server priced it, waiting at most `config.flush_timeout` seconds (and
not at all while the server is known to be unreachable). agentops 0.4's endings (end_trace,
the trace decorators) return nothing and wait for nothing: end_queued().
"""

from __future__ import annotations

import functools
import os
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import Token
from decimal import ROUND_HALF_UP, Decimal
from types import TracebackType
from typing import Any, TypeVar

from agentops import _host, _recording
from agentops._budget import Ledger
from agentops._config import Configuration, tags_tuple
from agentops._errors import capture_internal_errors, failure_reason, logger, report_internal_error
from agentops._events import Event, Frame, get_ISO_time
from agentops._exporter import Exporter, SessionAnswer
from agentops._spool import Journal, end_line
from agentops._trace_context import TraceContext
from agentops._transport import Transport, default_transport, prepare
from agentops._worker import BatchWorker, Command, SendHostEnv
from agentops.wire import EndState

F = TypeVar("F", bound=Callable[..., Any])
_time = time.time


class CreateSession(Command):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.target = session

    def run(self, exporter: Exporter) -> None:
        session = self.target
        if exporter.needs_create(session.session_id):
            exporter.create_session(session)
        if exporter.owes_host_env(session.session_id):  # created before it was collected
            worker = session._worker
            collected = _host.start(session.config.env_data_opt_out)
            collected.add_done_callback(lambda _: _queue_host_env(worker))


def _queue_host_env(worker: BatchWorker) -> None:
    with capture_internal_errors("queue the host environment"):
        worker.put(SendHostEnv())


class UpdateSession(Command):
    """Send a snapshot; the session's last one (`final`) also lets the exporter forget it.
    `unrecorded`: the server had refused to create the session (it stored nothing of it).
    `report`: nobody waits for it (end_queued): the stats line is logged once it ran."""

    def __init__(
        self, session: Session, snapshot: dict[str, Any], final: bool = False, report: bool = False
    ) -> None:
        super().__init__()
        self.target, self.snapshot, self.final = session, snapshot, final
        self.unrecorded = False
        self.losses: dict[str, int] | None = None  # the final one's, for the stats line
        self.report = report

    def run(self, exporter: Exporter) -> None:
        session = self.target
        worker, sid = session._worker, str(session.session_id)
        # known only now: after the events queued before this update were sent
        self.losses = dict(worker.losses.get(sid) or {})
        if self.losses:
            self.snapshot["dropped_events"] = self.losses
        try:
            self.result = exporter.update_session(session, self.snapshot)
            keeper = session._worker.keeper
            refused = exporter.refused(session.session_id)  # logged, and never sent again
            if self.result is None and self.final and keeper is not None and not refused:
                keeper.keep_update(session, self.snapshot)
        finally:
            self.unrecorded = exporter.unrecorded(session.session_id)
            if self.final:  # nothing is sent for an ended session after its end
                exporter.forget(session.session_id)
                worker.forget_losses(sid)
        if self.report:
            session._ended_with(self, True)


class CreateAgent(Command):
    def __init__(self, session: Session, agent_id: str, name: str | None) -> None:
        super().__init__()
        self.target, self.agent_id, self.name = session, agent_id, name

    def run(self, exporter: Exporter) -> None:
        exporter.create_agent(self.target, self.agent_id, self.name)


def format_duration(seconds: float) -> str:
    """0.3's Duration format: "1.7s", "2m 3.0s", "1h 0m 5.2s"."""
    hours, rest = divmod(max(0.0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.1f}s"
    if hours:
        return f"{int(hours)}h {int(minutes)}m {text}"
    return f"{int(minutes)}m {text}" if minutes else text


def format_cost(cost: Decimal) -> str:
    if cost == 0:
        return "0.00"
    return str(cost.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


class Session:
    """A session's state. Create sessions with agentops.start_session() or init()."""

    def __init__(
        self,
        session_id: uuid.UUID,
        config: Configuration,
        tags: list[str] | tuple[str, ...] | None = None,
        host_env: dict[str, Any] | None = None,
        *,
        transport: Transport | None = None,
        worker: BatchWorker | None = None,
    ) -> None:
        self.session_id = session_id
        self.config = config
        self.init_timestamp = get_ISO_time()
        self.end_timestamp: str | None = None
        self.end_state: str = EndState.INDETERMINATE.value
        self.end_state_reason: str | None = None
        self.tags: list[str] = list(tags_tuple(tags))
        self.video: str | None = None
        self.host_env = host_env
        self.name: str | None = None  # a trace's name (agentops 0.4 start_trace)
        self.metadata: dict[str, Any] | None = None  # update_trace_metadata, end_session kwargs
        self.token_cost = Decimal(0)
        self._cost_confirmed = False  # the server answered its end update with the cost
        # False once the server said some LLM call could not be priced (None: not said).
        self.cost_complete: bool | None = None
        self.event_counts = {"llms": 0, "tools": 0, "actions": 0, "errors": 0, "apis": 0}
        self.is_running = False
        self.transport: Transport = transport if transport is not None else default_transport()
        prepare(self.transport, config.endpoint)  # on the caller's thread, not the worker's
        if worker is None:  # a Session built by hand: a worker of its own, with its settings
            worker = BatchWorker(
                Exporter(), config.max_queue_size, config.batch_size, config.max_wait_time
            )
        self._worker = worker
        # limits on cost, tokens and LLM calls, and the project's budget as the server says
        self.budget = Ledger(config, worker.exporter.project_budget, str(session_id))
        self._lock = threading.RLock()  # the signal handler may re-enter _finish()
        self._pid = os.getpid()
        # re-attached by inherited_session_id: another process owns it, and ends it
        self._inherited = False
        self._started = time.time()
        self._ended: float | None = None
        self._tokens: list[Token[Session | None]] = []
        self._client_id = 0
        self._journal: Journal | None = None  # durable mode: the client's journal
        self._announced = False  # its page was logged (once the server created it)
        self._page_url: str | None = None  # its page as the server named it
        self._agent_ids: set[str] = set()  # the agents declared in it
        # the exception last recorded as an error event in it (_recording.note_error)
        self._recorded_error: BaseException | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running else self.end_state
        return f"<Session {self.session_id} {state}>"

    @property
    def jwt(self) -> str | None:
        """The server's token for this session (None until the worker created it)."""
        return self._worker.exporter.token(self.session_id)

    @property
    def trace_context(self) -> TraceContext:
        """This session as an agentops 0.4 trace (0.4's legacy Session.trace_context)."""
        return TraceContext(self)

    @property
    def span(self) -> Any:
        return self.trace_context.span

    @property
    def session_url(self) -> str:
        """This session's page on the server's dashboard: as the server named it once it
        created the session (its public URL, AGENTOPS_PUBLIC_URL), else under `endpoint`."""
        return self._page_url or f"{self.config.endpoint}/sessions/{self.session_id}"

    # --- lifecycle ----------------------------------------------------------------------
    def _start(self) -> None:
        """Queue its creation (its page is logged once the server made it: on_created)."""
        self.is_running = True
        _recording.register(self)
        self._worker.track_losses(str(self.session_id))
        self._worker.put(CreateSession(self))
        _host.start(self.config.env_data_opt_out)

    def on_created(self, page_url: str | None) -> None:
        """The server created it (the worker's thread): its page exists now. Said once, not
        again when a token is renewed or events sent after its end re-attach to it."""
        if page_url is not None:
            self._page_url = page_url
        if not self._announced:
            self._announced = True
            logger.info("Session Replay: %s", self.session_url)

    def end_session(
        self,
        end_state: str | EndState = EndState.INDETERMINATE,
        end_state_reason: str | None = None,
        video: str | None = None,
        **metadata: Any,
    ) -> Decimal | None:
        """End the session; its total cost in USD as priced by the server (None if unknown).

        Other keywords (agentops 0.4's legacy end_session(..., custom_field=...)) are kept as
        the session's metadata."""
        if metadata and self.is_running:
            self.metadata = {**(self.metadata or {}), **metadata}
        command = self._finish(end_state, end_state_reason, video)
        if command is None:
            return None
        timeout = self.config.flush_timeout
        delivered = self._worker.deliver([command], timeout, unless_unreachable=True)
        return self._ended_with(command, delivered)

    end = end_session

    def end_queued(self, end_state: str | EndState, end_state_reason: str | None = None) -> None:
        """End the session without waiting for the server (agentops 0.4's endings, which
        return nothing): its end is queued behind its events, sent by the worker, or kept in
        the spool like them; the stats line is logged once the worker sent it."""
        self._finish(end_state, end_state_reason, None, report=True)

    def _ended_with(self, command: UpdateSession, delivered: bool) -> Decimal | None:
        """After the end update was waited for: the cost, and what the user is told."""
        if delivered and command.unrecorded:  # said when it was refused: no stats, no cost
            return None
        answer: SessionAnswer | None = command.result if delivered else None
        cost = answer.cost if answer is not None else None
        if answer is not None and answer.cost_complete is not None:
            self.cost_complete = answer.cost_complete
        if cost is not None:
            self.token_cost = cost
            self._cost_confirmed = True
            if self.cost_complete is False:
                logger.warning(
                    "Session %s: some LLM calls could not be priced (unknown model or token "
                    "counts); the cost $%s covers only the priced calls",
                    self.session_id,
                    format_cost(cost),
                )
        elif not delivered and self._worker.exporter.unreachable.is_set():
            logger.warning(
                "Session %s: the server at %s is unreachable, so its end was not waited for; "
                "the worker keeps trying in the background (and keeps it in the spool at exit)",
                self.session_id,
                self.config.endpoint,
            )
        elif not delivered:
            logger.warning(
                "Session %s: the server did not confirm the end within %.1fs; "
                "the worker keeps trying in the background",
                self.session_id,
                self.config.flush_timeout,
            )
        self._log_stats(cost, command)
        return cost

    def _finish(
        self,
        end_state: str | EndState,
        reason: str | None,
        video: str | None,
        *,
        report: bool = False,
    ) -> UpdateSession | None:
        """Mark the session ended and queue its final update (no waiting); `report`: the
        worker logs the stats line once it ran (nobody waits for it)."""
        try:
            state = EndState(end_state)
        except ValueError:
            logger.warning(
                "Invalid end_state %r. Please use one of the EndState values: %s",
                end_state,
                ", ".join(s.value for s in EndState),
            )
            return None
        with self._lock:
            if not self.is_running:
                return None
            self.is_running = False
        self._ended = time.time()
        self.end_timestamp = get_ISO_time()
        self.end_state = state.value
        self.end_state_reason = self.budget.end_reason(reason)
        if video is not None:
            self.video = video
        _recording.unregister(self)
        self._recorded_error = None  # its traceback's frames are not kept alive any longer
        snapshot = self._snapshot()
        if self._journal is not None:
            self._journal.add(lambda: end_line(str(self.session_id), snapshot))
        command = UpdateSession(self, snapshot, final=True, report=report)
        self._worker.put(command)
        return command

    def __enter__(self) -> Session:
        self._tokens.append(_recording.set_current(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tokens:
            _recording.reset_current(self._tokens.pop())
        if not self.is_running:
            return
        if exc is None:
            self.end_session(EndState.SUCCESS)
        else:
            self.end_session(EndState.FAIL, failure_reason(exc))

    # --- recording ----------------------------------------------------------------------
    def record(self, event: Event, flush_now: bool = False) -> None:
        """Queue `event` for this session (O(1); never raises)."""
        if not self.is_running:
            return
        given: object = event
        if not isinstance(given, Event):  # e.g. the class itself: record(ActionEvent)
            logger.warning("record() expects an agentops Event, got %s", _describe(given))
            return
        try:
            stored: Any = event  # end_stamp(), inlined (its END and ENDED are not fields)
            if stored._end_timestamp is None and stored._ended is None:
                stored._ended = _time()
            etype = event.event_type
            counts = self.event_counts
            try:
                counts[etype] += 1
            except KeyError:  # an EventType member, or a type that is not counted
                key = getattr(etype, "value", etype)
                if key in counts:
                    counts[key] += 1
            self._worker.put_event(self, event)
        except Exception as exc:
            report_internal_error(exc, "record")
            return
        if flush_now:
            self._worker.flush(self.config.flush_timeout)

    def record_call(self, item: Event | Frame) -> None:
        """Queue a finished decorated call (a Frame: its event is built by the exporter; O(1))
        or an event it made (its failure). Also once the session has ended: a call that was
        running when it ended (end_trace() inside it, or in another thread) is part of it,
        and is sent after its end."""
        if not self.is_running and self._ended is None:
            return
        try:
            self.event_counts[item.event_type] += 1
            self._worker.put_event(self, item)
        except Exception as exc:
            report_internal_error(exc, "record")

    def add_tags(self, tags: list[str] | str) -> None:
        """Append tags not already present and send them."""
        with capture_internal_errors("add_tags"):
            for tag in tags_tuple(tags):
                if tag not in self.tags:
                    self.tags.append(tag)
            self._send_update()

    def set_tags(self, tags: list[str] | str) -> None:
        """Replace the tags and send them."""
        with capture_internal_errors("set_tags"):
            self.tags = list(tags_tuple(tags))
            self._send_update()

    def set_metadata(self, values: dict[str, Any]) -> None:
        """Merge `values` into the session's metadata and send it."""
        with capture_internal_errors("set_metadata"):
            self.metadata = {**(self.metadata or {}), **values}
            self._send_update()

    def set_video(self, video: str) -> None:
        self.video = video

    def create_agent(self, name: str | None, agent_id: str | None = None) -> str:
        """Declare an agent in this session; returns its id."""
        agent_id = agent_id or str(uuid.uuid4())
        if self.is_running:
            self._agent_ids.add(agent_id)
            self._worker.put(CreateAgent(self, agent_id, name))
        return agent_id

    def declare_agent(self, agent_id: str, name: str | None) -> None:
        """Declare the agent unless it is already: an agent object (@agent class) acts in
        every trace it is used in, and is declared in each, once."""
        if agent_id not in self._agent_ids:
            self.create_agent(name, agent_id)

    def patch(self, func: F) -> F:
        """Wrap `func` so it receives session=self (0.3's helper for LLM calls)."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["session"] = self
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def get_analytics(self) -> dict[str, int | str]:
        """Counts, duration and cost so far, in 0.3's keys and formats. No side effects. Once
        ended, the cost is "unknown" until the server confirmed the end (as the stats line
        says): never a made-up "0.00"."""
        end = self._ended if self._ended is not None else time.time()
        unconfirmed = self._ended is not None and not self._cost_confirmed
        return {
            "LLM calls": self.event_counts["llms"],
            "Tool calls": self.event_counts["tools"],
            "Actions": self.event_counts["actions"],
            "Errors": self.event_counts["errors"],
            "Duration": format_duration(end - self._started),
            "Cost": "unknown" if unconfirmed else format_cost(self.token_cost),
        }

    # --- wire ---------------------------------------------------------------------------
    def _send_update(self) -> None:
        if self.is_running:
            self._worker.put(UpdateSession(self, self._snapshot()))

    def _snapshot(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "init_timestamp": self.init_timestamp,
            "end_timestamp": self.end_timestamp,
            "end_state": self.end_state,
            "end_state_reason": self.end_state_reason,
            "tags": list(self.tags),
            "video": self.video,
            "host_env": self.host_env,
            "name": self.name,
            "metadata": self.metadata,
            "event_counts": dict(self.event_counts),
            "is_running": self.is_running,
        }

    def wire_snapshot(self, host_env_wait: float = 0.0) -> dict[str, Any]:
        """The session object for create_session, host_env included once collected (the
        exporter never waits for it: it follows in an update, Exporter.send_host_env)."""
        opt_out = self.config.env_data_opt_out
        if self.host_env is None:
            self.host_env = _host.get(opt_out, timeout=host_env_wait)
        snapshot = self._snapshot()
        if snapshot["host_env"] is None:  # the package lists are still being read: the rest
            snapshot["host_env"] = _host.quick(opt_out)
        return snapshot

    def _log_stats(self, cost: Decimal | None, command: UpdateSession) -> None:
        """0.3's stats line: what was recorded, what it cost (unknown when the server did not
        confirm the end: never a made-up $0.00), and what of it the server did not get."""
        a = self.get_analytics()
        if cost is None:
            priced = "unknown (the server did not confirm the end)"
        else:
            unpriced = " (some LLM calls unpriced)" if self.cost_complete is False else ""
            priced = f"${a['Cost']}{unpriced}"
        # the worker's count, unless the end update ran and took it (read in this order: the
        # update sets command.losses before the worker forgets its count)
        counted = self._worker.losses.get(str(self.session_id))
        losses = command.losses if command.losses is not None else counted
        lost = ""
        if losses:
            reasons = ", ".join(f"{key}: {n}" for key, n in sorted(losses.items()))
            lost = f" | Not recorded: {sum(losses.values())} ({reasons})"
        logger.info(
            "Session Stats - Duration: %s | Cost: %s | LLMs: %s | Tools: %s | Actions: %s | "
            "Errors: %s%s",
            a["Duration"],
            priced,
            a["LLM calls"],
            a["Tool calls"],
            a["Actions"],
            a["Errors"],
            lost,
        )


def _describe(value: object) -> str:
    if isinstance(value, type):
        return f"the class {value.__name__} (an instance is needed: {value.__name__}(...))"
    return type(value).__name__
