"""BaseClient (no-op methods), NoopClient (no API key: nothing happens) and Client.

The module functions of `agentops` call the default client, a NoopClient until init()
succeeds, so no caller ever branches on "enabled". A Client owns its worker (queue, thread,
exporter), built from its own settings when its first session starts.
"""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from typing import Any

from agentops import _host, _lifecycle, _recording
from agentops._config import Configuration, apply, tags_tuple
from agentops._errors import capture_internal_errors, logger, report_internal_error, warn_once
from agentops._events import Event
from agentops._exporter import Exporter
from agentops._session import Session
from agentops._spooling import Spooler
from agentops._transport import Transport, default_transport, prepare
from agentops._worker import BatchWorker, Command
from agentops.wire import EndState


def setup_integrations(config: Configuration) -> None:
    """Patch the LLM libraries (agentops.integrations, owned by the integrations module)."""
    try:
        from agentops.integrations import setup_integrations as setup
    except ImportError:
        return
    with capture_internal_errors("setup_integrations"):
        setup(config)


def teardown_integrations() -> None:
    """Restore the LLM libraries' original methods."""
    try:
        from agentops.integrations import teardown_integrations as teardown
    except ImportError:
        return
    with capture_internal_errors("teardown_integrations"):
        teardown()


class BaseClient:
    """The full client API doing nothing: what the SDK is when it is disabled."""

    def __init__(self, config: Configuration | None = None) -> None:
        self.config = config if config is not None else Configuration()

    is_initialized = False

    def initialize(self) -> None:
        return None

    def start_session(
        self,
        tags: list[str] | None = None,
        inherited_session_id: str | uuid.UUID | None = None,
        config: Configuration | None = None,
        *,
        name: str | None = None,
        budget: dict[str, Any] | None = None,
    ) -> Session | None:
        return None

    def end_session(
        self,
        end_state: str | EndState = "Indeterminate",
        end_state_reason: str | None = None,
        video: str | None = None,
        is_auto_end: bool = False,
    ) -> Decimal | None:
        return None

    def record(self, event: Event) -> None:
        return None

    def add_tags(self, tags: list[str] | str) -> None:
        return None

    def set_tags(self, tags: list[str] | str) -> None:
        return None

    def create_agent(
        self, name: str | None, agent_id: str | None = None, session: Session | None = None
    ) -> str | None:
        return None

    def end_all_sessions(self) -> None:
        return None

    def flush(self, timeout: float | None = None) -> bool:
        return True

    @property
    def sessions(self) -> list[Session]:
        return [s for s in _recording.active_sessions() if s._client_id == id(self)]

    def get_session(self, session_id: str | uuid.UUID) -> Session | None:
        try:
            key = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
        except ValueError:
            return None
        return _recording.find(key)

    @property
    def has_sessions(self) -> bool:
        return bool(self.sessions)

    @property
    def is_multi_session(self) -> bool:
        return len(self.sessions) > 1

    @property
    def session_count(self) -> int:
        return len(self.sessions)

    @property
    def current_session_ids(self) -> list[str]:
        return [str(s.session_id) for s in self.sessions]

    @property
    def api_key(self) -> str | None:
        return self.config.api_key

    @property
    def parent_key(self) -> str | None:
        return self.config.parent_key

    @property
    def dropped_events(self) -> int:
        """Events of this client that never reached the server (queue full, refused, lost)."""
        return 0

    def configure(self, **changes: object) -> None:
        """Change this client's settings (None values ignored; locked while sessions run)."""
        if self.sessions:
            logger.warning(
                "%d session(s) in progress. Configuration is locked until there are no more "
                "sessions running",
                len(self.sessions),
            )
            return
        self.config = apply(self.config, changes)

    @property
    def host_env(self) -> dict[str, object] | None:
        """The host environment sent with sessions (waits up to 2 s for its collection)."""
        return _host.get(self.config.env_data_opt_out, timeout=2.0)

    def get_default_tags(self) -> list[str]:
        return list(self.config.default_tags)

    def add_default_tags(self, tags: list[str]) -> None:
        added = (*self.config.default_tags, *tags_tuple(tags))
        self.config = self.config.replace(default_tags=added)


class NoopClient(BaseClient):
    """Installed when there is no valid API key: warns once at init, then does nothing."""


class Client(BaseClient):
    """Starts sessions and routes events to them."""

    def __init__(
        self, config: Configuration | None = None, *, transport: Transport | None = None
    ) -> None:
        super().__init__(config)
        # The settings it was made with: its worker, spool and integrations were set up from
        # them, so a configure() since then takes effect with the next init()'s new client.
        self.made_with = self.config
        self.transport: Transport = transport or default_transport()
        prepare(self.transport, self.config.endpoint)
        self.is_initialized = False
        self._pending_agents: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        self._worker: BatchWorker | None = None
        self._spooler: Spooler | None = None
        self._spooler_made = False

    @property
    def spooler(self) -> Spooler | None:
        """This client's spool (None when the `spool` setting is off)."""
        if not self._spooler_made:
            with self._lock:
                if not self._spooler_made:
                    self._spooler_made = True
                    if self.config.spool:
                        with capture_internal_errors("spool"):
                            self._spooler = Spooler(self.config, self.transport)
        return self._spooler

    @property
    def worker(self) -> BatchWorker:
        """This client's worker, made on first use from its settings (no thread until used)."""
        worker = self._worker
        if worker is None:
            keeper = self.spooler  # (takes the lock itself)
            with self._lock:
                if self._worker is None:
                    config = self.config
                    self._worker = BatchWorker(
                        Exporter(), config.max_queue_size, config.batch_size, config.max_wait_time
                    )
                    self._worker.keeper = keeper
                    self._worker.journal = keeper.journal if keeper is not None else None
                worker = self._worker
        return worker

    @property
    def dropped_events(self) -> int:
        return self._worker.dropped if self._worker is not None else 0

    def close(self) -> None:
        """This client is replaced (init() with other settings, no session running): its
        worker sends what it still holds, then its thread ends (no waiting here)."""
        worker = self._worker
        if worker is not None:
            with capture_internal_errors("close client"):
                worker.stop()

    def initialize(self) -> None:
        """Install exit hooks, start host collection and the integrations (once)."""
        _lifecycle.install(self.config.shutdown_timeout)  # signal handlers: once on the main thread
        if self.is_initialized:
            return
        self.is_initialized = True
        _host.start(self.config.env_data_opt_out)
        if self.config.instrument_llm_calls:
            setup_integrations(self.config)
        spooler = self.spooler
        if spooler is not None:
            with capture_internal_errors("spool"):
                spooler.send_earlier_files()

    def start_session(
        self,
        tags: list[str] | None = None,
        inherited_session_id: str | uuid.UUID | None = None,
        config: Configuration | None = None,
        *,
        name: str | None = None,
        budget: dict[str, Any] | None = None,
    ) -> Session | None:
        """Start (or, with inherited_session_id, re-attach to) a session; it becomes current.
        `budget` overrides the limits of the configuration (max_cost_usd, ..., None: kept)."""
        given: object = config
        if given is not None and not isinstance(given, Configuration):
            logger.error(
                "start_session(config=...) expects an agentops.Configuration, got %s; "
                "the client's configuration is used",
                type(given).__name__,
            )
            config = None
        config = config if config is not None else self.config
        if config.api_key is None:
            config = config.replace(api_key=self.config.api_key)
        if budget:
            config = apply(config, budget)
        if inherited_session_id is not None:
            try:
                session_id = uuid.UUID(str(inherited_session_id))
            except ValueError:
                logger.error("Invalid session id: %s", inherited_session_id)
                return None
        else:
            session_id = uuid.uuid4()
        session = Session(
            session_id,
            config,
            tags=[*config.default_tags, *tags_tuple(tags)],
            transport=self.transport,
            worker=self.worker,
        )
        session._client_id = id(self)
        session._inherited = inherited_session_id is not None
        session.name = name
        spooler = self.spooler
        if spooler is not None:
            spooler.track(session)
            session._journal = spooler.journal
        session._start()
        _recording.set_current(session)
        with self._lock:
            pending, self._pending_agents = self._pending_agents, []
        for agent_id, name in pending:
            session.create_agent(name, agent_id)
        return session

    def end_session(
        self,
        end_state: str | EndState = "Indeterminate",
        end_state_reason: str | None = None,
        video: str | None = None,
        is_auto_end: bool = False,
    ) -> Decimal | None:
        if is_auto_end and self.config.skip_auto_end_session:
            return None
        session = _recording.resolve("end session")
        if session is None:
            return None
        return session.end_session(end_state, end_state_reason, video)

    def record(self, event: Event) -> None:
        session = _recording.context_session()  # current_session()'s first step, inlined
        if session is None or not session.is_running:
            session = _recording.resolve("record event")  # or the only one; else says why
            if session is None:
                return
        session.record(event)

    def add_tags(self, tags: list[str] | str) -> None:
        session = _recording.resolve("add tags")
        if session is not None:
            session.add_tags(tags)

    def set_tags(self, tags: list[str] | str) -> None:
        session = _recording.resolve("set tags")
        if session is not None:
            session.set_tags(tags)

    def create_agent(
        self, name: str | None, agent_id: str | None = None, session: Session | None = None
    ) -> str | None:
        """Declare an agent; before any session exists it is sent when the next one starts."""
        agent_id = agent_id or str(uuid.uuid4())
        target = session or _recording.current_session()
        if target is not None:
            return target.create_agent(name, agent_id)
        if _recording.active_sessions():
            warn_once(
                "multi:create_agent", "Could not create agent - %s", _recording.MULTI_SESSION_HELP
            )
            return agent_id
        with self._lock:
            self._pending_agents.append((agent_id, name))
        return agent_id

    def end_all_sessions(self) -> None:
        """End every running session as Indeterminate (each one, unlike 0.3.26)."""
        by_worker: dict[BatchWorker, list[Command]] = {}
        for session in _recording.active_sessions():
            command = session._finish("Indeterminate", None, None)
            if command is not None:
                by_worker.setdefault(session._worker, []).append(command)
        for worker, commands in by_worker.items():
            worker.deliver(commands, self.config.flush_timeout, unless_unreachable=True)

    def flush(self, timeout: float | None = None) -> bool:
        """Send every queued event now; False if `timeout` (default flush_timeout) ran out."""
        if self._worker is None:
            return True
        try:
            return self._worker.flush(self.config.flush_timeout if timeout is None else timeout)
        except Exception as exc:
            report_internal_error(exc, "flush")
            return False


_default: BaseClient = NoopClient()


def get_client() -> BaseClient:
    """The process's default client: a NoopClient until init() succeeds."""
    return _default


def set_client(client: BaseClient) -> None:
    global _default
    _default = client
