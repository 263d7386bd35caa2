"""The module-level API of `agentops` (0.3 names); agentops/__init__.py loads it on first use."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, TypeVar

from agentops import _client, _config, _lifecycle, _recording
from agentops._budget import BudgetHandler
from agentops._client import Client, get_client
from agentops._client import NoopClient as _NoopClient
from agentops._client import set_client as _set_client
from agentops._client import teardown_integrations as _teardown_integrations
from agentops._config import Configuration
from agentops._errors import logger as _logger
from agentops._errors import report_internal_error as _report_internal_error
from agentops._errors import setup_logging as _setup_logging
from agentops._errors import warn_once as _warn_once
from agentops._events import Event
from agentops._session import Session
from agentops._transport import Transport as _Transport
from agentops.wire import EndState

E = TypeVar("E", bound=Event)

# Values given to configure() before init(), applied by the next init().
_configured: dict[str, Any] = {}


def init(
    api_key: str | None = None,
    parent_key: str | None = None,
    endpoint: str | None = None,
    max_wait_time: int | None = None,
    max_queue_size: int | None = None,
    tags: list[str] | None = None,
    default_tags: list[str] | None = None,
    instrument_llm_calls: bool | None = None,
    auto_start_session: bool | None = None,
    inherited_session_id: str | uuid.UUID | None = None,
    skip_auto_end_session: bool | None = None,
    env_data_opt_out: bool | None = None,
    *,
    transport: _Transport | None = None,
    trace_name: str | None = None,
    log_level: str | int | None = None,
    app_url: str | None = None,
    exporter_endpoint: str | None = None,
    auto_init: bool | None = None,
    fail_safe: bool | None = None,
    log_session_replay_url: bool | None = None,
    export_flush_interval: int | None = None,
    max_cost_usd: float | str | Decimal | None = None,
    max_tokens: int | None = None,
    max_llm_calls: int | None = None,
    on_budget_exceeded: BudgetHandler | None = None,
    flush_timeout: float | None = None,
    shutdown_timeout: float | None = None,
    spool: bool | None = None,
    spool_dir: str | None = None,
    spool_max_bytes: int | None = None,
    durable: bool | None = None,
) -> Session | None:
    """Set up the SDK and (by default) start a session, which is returned.

    Without a valid API key it warns once and the SDK does nothing. Calling it again (a
    notebook cell re-run) while sessions run keeps them and their client: other settings are
    ignored, with a warning, until they end. `transport` is for tests
    (agentops.testing.InMemoryTransport). agentops 0.4's keywords are accepted: `trace_name`
    names the session init() starts, `log_level` sets the logger's level; `app_url`,
    `exporter_endpoint` (OTLP), `auto_init`, `fail_safe`, `log_session_replay_url` and
    `export_flush_interval` have no use here and are ignored. A second positional argument
    that is an http(s) URL is 0.4's endpoint, a UUID 0.3's parent key. `max_cost_usd`, `max_tokens`
    and `max_llm_calls` limit every session it starts (see docs/sdk.md, Budgets);
    `on_budget_exceeded(BudgetExceeded)` returning True lets a refused LLM call be sent.
    The other settings of docs/sdk.md's table (`flush_timeout`, ..., `durable`) are keywords
    of init() and configure() alike.
    """
    try:
        if _is_url(parent_key):  # 0.4's init(api_key, endpoint, app_url, ...)
            parent_key, endpoint = None, parent_key  # its app_url (our endpoint) has no use
        if tags is not None:
            _logger.warning("The 'tags' parameter is deprecated. Use 'default_tags' instead")
            default_tags = [*_config.tags_tuple(tags), *_config.tags_tuple(default_tags)]
        explicit = {
            "api_key": api_key,
            "parent_key": parent_key,
            "endpoint": endpoint,
            "max_wait_time": max_wait_time,
            "max_queue_size": max_queue_size,
            "default_tags": _config.tags_tuple(default_tags) if default_tags is not None else None,
            "trace_name": trace_name,
            "instrument_llm_calls": instrument_llm_calls,
            "auto_start_session": auto_start_session,
            "skip_auto_end_session": skip_auto_end_session,
            "env_data_opt_out": env_data_opt_out,
            "log_level": _level_name(log_level),
            "max_cost_usd": max_cost_usd,
            "max_tokens": max_tokens,
            "max_llm_calls": max_llm_calls,
            "on_budget_exceeded": on_budget_exceeded,
            "flush_timeout": flush_timeout,
            "shutdown_timeout": shutdown_timeout,
            "spool": spool,
            "spool_dir": spool_dir,
            "spool_max_bytes": spool_max_bytes,
            "durable": durable,
        }
        config = _config.build(
            **{**_configured, **{k: v for k, v in explicit.items() if v is not None}}
        )
        _setup_logging(config.log_level, config.log_to_file)
        current = get_client()
        if isinstance(current, Client) and current.sessions:
            return _init_again(current, config, transport, inherited_session_id)
        if config.api_key is None:
            _warn_once(
                "no-api-key",
                "Could not initialize AgentOps client - API Key is missing. Pass api_key= or set "
                "AGENTOPS_API_KEY; the SDK does nothing until then",
            )
            _set_client(_NoopClient(config))
            return None
        if (
            isinstance(current, Client)
            and current.config == config == current.made_with
            and transport in (None, current.transport)
        ):
            client = current
        else:
            client = Client(config, transport=transport)
            _set_client(client)
            if isinstance(current, Client):
                current.close()  # its worker sends what it holds, then its thread ends
        client.initialize()
        if inherited_session_id is not None:
            if auto_start_session is False:
                _logger.warning("inherited_session_id is ignored because auto_start_session=False")
                return None
            return client.start_session(inherited_session_id=inherited_session_id)
        if not config.auto_start_session:
            return None
        return client.start_session(name=config.trace_name or "default")  # 0.4's init trace
    except Exception as exc:  # never crash the host over the SDK
        _logger.error("agentops.init() failed (%r); no session was started", exc)
        _report_internal_error(exc, "init")
        return None


def _is_url(value: object) -> bool:
    """An http(s) URL: init()'s second positional argument is then 0.4's endpoint (a
    UUID-like one is 0.3's parent key)."""
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def _level_name(level: str | int | None) -> str | None:
    """A log level given as a name or a logging constant, as its name."""
    if level is None or isinstance(level, str):
        return level
    import logging

    return logging.getLevelName(level) if isinstance(level, int) else None


def _init_again(
    client: Client,
    config: Configuration,
    transport: _Transport | None,
    inherited_session_id: str | uuid.UUID | None,
) -> Session | None:
    """init() while `client` has running sessions: keep them, their client and its settings."""
    running = client.sessions
    if config != client.config or transport not in (None, client.transport):
        _logger.warning(
            "agentops.init() was called again with other settings while %d session(s) run: "
            "they go on with the settings they started with and the new ones are ignored. "
            "End them first (agentops.end_session) to apply new settings",
            len(running),
        )
    client.initialize()
    if inherited_session_id is not None:
        existing = client.get_session(inherited_session_id)
        if existing is not None:
            _recording.set_current(existing)
            return existing
        return client.start_session(inherited_session_id=inherited_session_id)
    if not config.auto_start_session:
        return None
    _logger.info("AgentOps has already been initialized: continuing its running session")
    _recording.set_current(running[-1])
    return running[-1]


def configure(
    api_key: str | None = None,
    parent_key: str | None = None,
    endpoint: str | None = None,
    max_wait_time: int | None = None,
    max_queue_size: int | None = None,
    default_tags: list[str] | None = None,
    instrument_llm_calls: bool | None = None,
    auto_start_session: bool | None = None,
    skip_auto_end_session: bool | None = None,
    env_data_opt_out: bool | None = None,
    *,
    trace_name: str | None = None,
    spool: bool | None = None,
    spool_dir: str | None = None,
    spool_max_bytes: int | None = None,
    durable: bool | None = None,
    flush_timeout: float | None = None,
    shutdown_timeout: float | None = None,
    max_cost_usd: float | str | Decimal | None = None,
    max_tokens: int | None = None,
    max_llm_calls: int | None = None,
    on_budget_exceeded: BudgetHandler | None = None,
) -> None:
    """Change settings for the sessions started from now on (locked while sessions run).
    The keyword-only ones are ours. `shutdown_timeout` applies at once; the settings the
    queue, the spool and the integrations are set up with, at the next init()."""
    running = _recording.active_sessions()
    if running:
        _logger.warning(
            "%d session(s) in progress. Configuration is locked until there are no more "
            "sessions running",
            len(running),
        )
        return
    changes = {
        k: v
        for k, v in {
            "api_key": api_key,
            "parent_key": parent_key,
            "endpoint": endpoint,
            "max_wait_time": max_wait_time,
            "max_queue_size": max_queue_size,
            "default_tags": _config.tags_tuple(default_tags) if default_tags is not None else None,
            "instrument_llm_calls": instrument_llm_calls,
            "auto_start_session": auto_start_session,
            "skip_auto_end_session": skip_auto_end_session,
            "env_data_opt_out": env_data_opt_out,
            "trace_name": trace_name,
            "spool": spool,
            "spool_dir": spool_dir,
            "spool_max_bytes": spool_max_bytes,
            "durable": durable,
            "flush_timeout": flush_timeout,
            "shutdown_timeout": shutdown_timeout,
            "max_cost_usd": max_cost_usd,
            "max_tokens": max_tokens,
            "max_llm_calls": max_llm_calls,
            "on_budget_exceeded": on_budget_exceeded,
        }.items()
        if v is not None
    }
    client = get_client()
    client.config = _config.apply(client.config, changes)
    _configured.update(changes)
    if client.is_initialized:  # the exit hooks already run with init()'s deadline
        _lifecycle.set_shutdown_timeout(client.config.shutdown_timeout)


def start_session(
    tags: list[str] | None = None,
    inherited_session_id: str | uuid.UUID | None = None,
    config: Configuration | None = None,
    *,
    max_cost_usd: float | str | Decimal | None = None,
    max_tokens: int | None = None,
    max_llm_calls: int | None = None,
    on_budget_exceeded: BudgetHandler | None = None,
) -> Session | None:
    """Start a session (it becomes the current one in this context) and return it. The
    budget keywords override init()'s for this session (docs/sdk.md, Budgets)."""
    client = get_client()
    if not isinstance(client, Client):
        _warn_once(
            "start-before-init",
            "AgentOps has not been initialized yet. Call agentops.init() before "
            "agentops.start_session()",
        )
        return None
    budget = {
        "max_cost_usd": max_cost_usd,
        "max_tokens": max_tokens,
        "max_llm_calls": max_llm_calls,
        "on_budget_exceeded": on_budget_exceeded,
    }
    return client.start_session(tags, inherited_session_id, config, budget=budget)


class _Unset:
    """end_session() called without an end state (0.4: Success), unlike end_session(None)."""


_UNSET = _Unset()


def end_session(
    end_state: str | EndState | Session | None | _Unset = _UNSET,
    end_state_reason: str | None = None,
    video: str | None = None,
    is_auto_end: bool = False,
    /,
    **keywords: Any,
) -> Decimal | None:
    """End the current session; returns its total cost in USD (None if the server didn't say).

    0.3's calls (end_session("Fail", "why"), end_session(end_state="Fail", video=...)) and
    0.4's (end_session(session, end_state="Fail"), end_session() as Success) both work; other
    keywords (end_session("Fail", custom_field="abc")) are kept as the session's metadata.
    """
    target = end_state if isinstance(end_state, Session) else None
    # an explicit None (or any other bad value) is refused with a warning, as in 0.3
    state: str | EndState = keywords.pop("end_state", None) or (
        "Success" if isinstance(end_state, _Unset) or target is not None else end_state  # type: ignore[assignment]
    )
    reason = keywords.pop("end_state_reason", end_state_reason)
    video = keywords.pop("video", video)
    is_auto_end = bool(keywords.pop("is_auto_end", is_auto_end))
    if target is None and keywords:
        target = _recording.resolve("end session")
        if target is None:
            return None
    if target is not None:
        return target.end_session(state, reason, video, **keywords)
    return get_client().end_session(state, reason, video, is_auto_end)


def record(event: E) -> E:
    """Record an event to the current session; returns it (as 0.4 does, ended)."""
    _client._default.record(event)  # get_client(), without a call: this is the agent's path
    return event


def add_tags(tags: list[str] | str) -> None:
    get_client().add_tags(tags)


def set_tags(tags: list[str] | str) -> None:
    get_client().set_tags(tags)


def create_agent(name: str | None, agent_id: str | None = None) -> str | None:
    """Declare an agent in the current session (or the next one to start); returns its id."""
    return get_client().create_agent(name, agent_id)


def get_session(session_id: str | uuid.UUID) -> Session | None:
    """A running session by id (str or UUID)."""
    return get_client().get_session(session_id)


def end_all_sessions() -> None:
    get_client().end_all_sessions()


def flush(timeout: float | None = None) -> bool:
    """Send every queued event now; False if the server didn't take them within `timeout` s."""
    return get_client().flush(timeout)


def get_api_key() -> str | None:
    return get_client().config.api_key


def set_api_key(api_key: str) -> None:
    configure(api_key=api_key)


def set_parent_key(parent_key: str) -> None:
    configure(parent_key=parent_key)


def stop_instrumenting() -> None:
    """Undo the LLM libraries' instrumentation."""
    _teardown_integrations()
