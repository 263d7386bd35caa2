"""Configuration: one frozen dataclass, built once at the edge (init/configure/start_session).

Precedence is explicit argument, then the AGENTOPS_* environment variable, then the default.
The rest of the SDK (and `agentops.integrations.setup_integrations(config)`) receives a
`Configuration` and never reads the environment itself. Fields:

    api_key, parent_key     project keys (UUID strings), None when unset or invalid
    endpoint                server base URL without trailing slash ("http://127.0.0.1:8000")
    max_wait_time           ms an event may wait in the queue before it is sent (batch interval)
    max_queue_size          events held in memory at most; beyond it events are dropped, counted
    default_tags            tags added to every session (ordered, no duplicates)
    trace_name              the name of the session init() starts ("default" when None)
    instrument_llm_calls    set up the LLM integrations at init()
    auto_start_session      init() starts a session
    skip_auto_end_session   end_session(..., is_auto_end=True) is ignored
    env_data_opt_out        send only the SDK/OS/cwd/venv sections of the host environment
    flush_timeout           seconds end_session()/flush() wait for the server at most
    shutdown_timeout        seconds the exit hooks wait for the server at most
                            (waits are finite: at most MAX_SECONDS, a day)
    log_level, log_to_file  the `agentops` logger's level and the ./agentops.log file
    spool                   keep what could not be sent on disk, for a later process to send
    spool_dir               where ("" = $XDG_STATE_HOME/agentops/spool or ~/.local/state/...)
    spool_max_bytes         the spool directory's size limit
    durable                 also journal every event as it is recorded (kill -9 loses <= 100 ms)
    max_cost_usd            a session's LLM calls stop at this cost in USD (None: no limit)
    max_tokens              ... at this many tokens (prompt + completion; None: no limit)
    max_llm_calls           ... after this many LLM calls (None: no limit)
    on_budget_exceeded      called with the BudgetExceeded of a refused call; True sends it
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from agentops._errors import ConfigurationError, logger

# Environment variables (documented in docs/sdk.md).
ENV_API_KEY: Final = "AGENTOPS_API_KEY"
ENV_PARENT_KEY: Final = "AGENTOPS_PARENT_KEY"
ENV_ENDPOINT: Final = "AGENTOPS_API_ENDPOINT"
ENV_ENV_DATA_OPT_OUT: Final = "AGENTOPS_ENV_DATA_OPT_OUT"
ENV_LOGGING_LEVEL: Final = "AGENTOPS_LOGGING_LEVEL"
ENV_LOG_LEVEL: Final = "AGENTOPS_LOG_LEVEL"  # agentops 0.4's spelling, read when the other is unset
ENV_LOGGING_TO_FILE: Final = "AGENTOPS_LOGGING_TO_FILE"
ENV_MAX_WAIT_TIME: Final = "AGENTOPS_MAX_WAIT_TIME"
ENV_MAX_QUEUE_SIZE: Final = "AGENTOPS_MAX_QUEUE_SIZE"
ENV_INSTRUMENT_LLM_CALLS: Final = "AGENTOPS_INSTRUMENT_LLM_CALLS"
ENV_FLUSH_TIMEOUT: Final = "AGENTOPS_FLUSH_TIMEOUT"
ENV_SHUTDOWN_TIMEOUT: Final = "AGENTOPS_SHUTDOWN_TIMEOUT"
ENV_SPOOL: Final = "AGENTOPS_SPOOL"
ENV_SPOOL_DIR: Final = "AGENTOPS_SPOOL_DIR"
ENV_SPOOL_MAX_BYTES: Final = "AGENTOPS_SPOOL_MAX_BYTES"
ENV_DURABLE: Final = "AGENTOPS_DURABLE"
ENV_MAX_COST_USD: Final = "AGENTOPS_MAX_COST_USD"
ENV_MAX_TOKENS: Final = "AGENTOPS_MAX_TOKENS"
ENV_MAX_LLM_CALLS: Final = "AGENTOPS_MAX_LLM_CALLS"
# agentops 0.4's
ENV_DEFAULT_TAGS: Final = "AGENTOPS_DEFAULT_TAGS"  # comma-separated
ENV_TRACE_NAME: Final = "AGENTOPS_TRACE_NAME"
ENV_AUTO_START_SESSION: Final = "AGENTOPS_AUTO_START_SESSION"
ENV_SKIP_AUTO_END_SESSION: Final = "AGENTOPS_SKIP_AUTO_END_SESSION"
# agentops 0.4.21 reads these too; they have no use here (docs/sdk.md says why) and are ignored.
IGNORED_ENV_VARS: Final = (
    "AGENTOPS_APP_URL",
    "AGENTOPS_EXPORTER_ENDPOINT",
    "AGENTOPS_EXPORT_FLUSH_INTERVAL",
    "AGENTOPS_AUTO_INIT",
    "AGENTOPS_FAIL_SAFE",
    "AGENTOPS_PREFETCH_JWT_TOKEN",
    "AGENTOPS_LOG_SESSION_REPLAY_URL",
)
ENV_VARS: Final = (
    ENV_API_KEY,
    ENV_PARENT_KEY,
    ENV_ENDPOINT,
    ENV_ENV_DATA_OPT_OUT,
    ENV_LOGGING_LEVEL,
    ENV_LOGGING_TO_FILE,
    ENV_MAX_WAIT_TIME,
    ENV_MAX_QUEUE_SIZE,
    ENV_INSTRUMENT_LLM_CALLS,
    ENV_FLUSH_TIMEOUT,
    ENV_SHUTDOWN_TIMEOUT,
    ENV_SPOOL,
    ENV_SPOOL_DIR,
    ENV_SPOOL_MAX_BYTES,
    ENV_DURABLE,
    ENV_MAX_COST_USD,
    ENV_MAX_TOKENS,
    ENV_MAX_LLM_CALLS,
    ENV_LOG_LEVEL,
    ENV_DEFAULT_TAGS,
    ENV_TRACE_NAME,
    ENV_AUTO_START_SESSION,
    ENV_SKIP_AUTO_END_SESSION,
)

DEFAULT_ENDPOINT: Final = "http://127.0.0.1:8000"
# The longest wait a setting may ask for (flush_timeout, shutdown_timeout, max_wait_time): a
# day. Longer (or infinite) waits overflow the clocks and timers they are handed to.
MAX_SECONDS: Final = 86_400.0
MAX_BATCH_SIZE: Final = 500
_LEVELS: Final = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


@dataclass(frozen=True)
class Configuration:
    """SDK settings. Immutable: derive a changed copy with `replace(**changes)`."""

    api_key: str | None = None
    parent_key: str | None = None
    endpoint: str = DEFAULT_ENDPOINT
    max_wait_time: int = 2000
    max_queue_size: int = 100_000
    default_tags: tuple[str, ...] = ()
    trace_name: str | None = None
    instrument_llm_calls: bool = True
    auto_start_session: bool = True
    skip_auto_end_session: bool = False
    env_data_opt_out: bool = False
    flush_timeout: float = 5.0
    shutdown_timeout: float = 2.0
    log_level: str = "INFO"
    log_to_file: bool = False
    spool: bool = True
    spool_dir: str = ""
    spool_max_bytes: int = 64 * 1024 * 1024
    durable: bool = False
    max_cost_usd: Decimal | None = None
    max_tokens: int | None = None
    max_llm_calls: int | None = None
    on_budget_exceeded: Callable[[Any], bool] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "api_key", _uuid_or_none(self.api_key, "API Key"))
        set_(self, "parent_key", _uuid_or_none(self.parent_key, "Parent Key"))
        if isinstance(self.endpoint, str) and "://" not in self.endpoint and self.endpoint:
            set_(self, "endpoint", f"http://{self.endpoint.strip()}")  # "localhost:8000"
        if not isinstance(self.endpoint, str) or not _is_http_url(self.endpoint):
            raise ConfigurationError(f"endpoint must be an http(s) URL, got {self.endpoint!r}")
        set_(self, "endpoint", self.endpoint.rstrip("/"))
        set_(self, "default_tags", tags_tuple(self.default_tags))
        if self.trace_name is not None:
            set_(self, "trace_name", str(self.trace_name).strip() or None)
        set_(self, "spool_dir", str(self.spool_dir))  # a pathlib.Path is welcome too
        for name in ("max_wait_time", "max_queue_size", "spool_max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive int, got {value!r}")
        if self.max_wait_time > MAX_SECONDS * 1000:
            raise ConfigurationError(
                f"max_wait_time must be at most {MAX_SECONDS * 1000:.0f} ms, "
                f"got {self.max_wait_time!r}"
            )
        for name in ("flush_timeout", "shutdown_timeout"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= MAX_SECONDS  # also refuses NaN
            ):
                raise ConfigurationError(
                    f"{name} must be a number of seconds from 0 to {MAX_SECONDS:.0f}, got {value!r}"
                )
        set_(self, "max_cost_usd", _usd_or_none(self.max_cost_usd))
        for name in ("max_tokens", "max_llm_calls"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ConfigurationError(f"{name} must be a whole number >= 0, got {value!r}")
        if self.on_budget_exceeded is not None and not callable(self.on_budget_exceeded):
            raise ConfigurationError(
                "on_budget_exceeded must be a callable taking the BudgetExceeded and returning "
                f"True to send the call, got {self.on_budget_exceeded!r}"
            )
        if inspect.iscoroutinefunction(self.on_budget_exceeded):
            raise ConfigurationError(
                "on_budget_exceeded must be a plain function (it decides before the call is "
                f"sent, in sync and async code alike), not async: {self.on_budget_exceeded!r}"
            )
        level = str(self.log_level).upper()
        if level not in _LEVELS:
            raise ConfigurationError(f"log_level must be one of {', '.join(_LEVELS)}")
        set_(self, "log_level", level)

    @property
    def batch_size(self) -> int:
        """Events per create_events request at most."""
        return min(MAX_BATCH_SIZE, self.max_queue_size)

    def replace(self, **changes: Any) -> Configuration:
        """A copy with `changes` applied; None values are ignored (0.3's configure() rule)."""
        kept = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **kept) if kept else self


def tags_tuple(tags: Iterable[str] | str | None) -> tuple[str, ...]:
    """Tags as an ordered tuple without duplicates; a bare str is one tag."""
    if tags is None:
        return ()
    if isinstance(tags, str) or not isinstance(tags, Iterable):  # one tag (e.g. 5)
        tags = [str(tags)]
    return tuple(dict.fromkeys(str(t) for t in tags))


def _usd_or_none(value: object) -> Decimal | None:
    """A cost limit as a Decimal: a number or numeric string >= 0 (e.g. 0.50 or "0.50")."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise InvalidOperation
        usd = Decimal(str(value).strip())
    except InvalidOperation:
        usd = Decimal("NaN")
    if not usd.is_finite() or usd < 0:
        raise ConfigurationError(
            f"max_cost_usd must be a number of US dollars >= 0 (e.g. 0.50), got {value!r}"
        )
    return usd


def _is_http_url(endpoint: str) -> bool:
    """An http(s) URL with a host (and a valid port, if any): "http://[::1" is not."""
    try:
        parts = urllib.parse.urlsplit(endpoint)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and endpoint.isprintable()


def _uuid_or_none(value: object, what: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        uuid.UUID(str(value))
    except ValueError:
        logger.error("%s is invalid: %s (it must be a UUID); it is ignored", what, value)
        return None
    return str(value)


def _env_bool(environ: Mapping[str, str], name: str) -> bool | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw.strip().lower() in ("1", "true", "t", "yes", "on")


def _env_tags(environ: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """Comma-separated tags ("a,b"), as 0.4 reads them; blanks around each are dropped."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return tags_tuple(tag.strip() for tag in raw.split(",") if tag.strip())


def _env_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        logger.error("%s must be an integer, got %r; it is ignored", name, raw)
        return None


def _env_float(environ: Mapping[str, str], name: str) -> float | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw)
    except ValueError:
        logger.error("%s must be a number of seconds, got %r; it is ignored", name, raw)
        return None


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings given by AGENTOPS_* variables, as keyword arguments for Configuration."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {
        "api_key": env.get(ENV_API_KEY) or None,
        "parent_key": env.get(ENV_PARENT_KEY) or None,
        "endpoint": env.get(ENV_ENDPOINT) or None,
        "env_data_opt_out": _env_bool(env, ENV_ENV_DATA_OPT_OUT),
        "log_level": (env.get(ENV_LOGGING_LEVEL) or env.get(ENV_LOG_LEVEL) or "").strip().upper()
        or None,
        "default_tags": _env_tags(env, ENV_DEFAULT_TAGS),
        "trace_name": (env.get(ENV_TRACE_NAME) or "").strip() or None,
        "auto_start_session": _env_bool(env, ENV_AUTO_START_SESSION),
        "skip_auto_end_session": _env_bool(env, ENV_SKIP_AUTO_END_SESSION),
        "log_to_file": _env_bool(env, ENV_LOGGING_TO_FILE),
        "max_wait_time": _env_int(env, ENV_MAX_WAIT_TIME),
        "max_queue_size": _env_int(env, ENV_MAX_QUEUE_SIZE),
        "instrument_llm_calls": _env_bool(env, ENV_INSTRUMENT_LLM_CALLS),
        "flush_timeout": _env_float(env, ENV_FLUSH_TIMEOUT),
        "shutdown_timeout": _env_float(env, ENV_SHUTDOWN_TIMEOUT),
        "spool": _env_bool(env, ENV_SPOOL),
        "spool_dir": env.get(ENV_SPOOL_DIR) or None,
        "spool_max_bytes": _env_int(env, ENV_SPOOL_MAX_BYTES),
        "durable": _env_bool(env, ENV_DURABLE),
        "max_cost_usd": (env.get(ENV_MAX_COST_USD) or "").strip() or None,
        "max_tokens": _env_int(env, ENV_MAX_TOKENS),
        "max_llm_calls": _env_int(env, ENV_MAX_LLM_CALLS),
    }
    return {k: v for k, v in values.items() if v is not None}


_ENV_OF_FIELD: Final = {
    "api_key": ENV_API_KEY,
    "parent_key": ENV_PARENT_KEY,
    "endpoint": ENV_ENDPOINT,
    "env_data_opt_out": ENV_ENV_DATA_OPT_OUT,
    "log_level": ENV_LOGGING_LEVEL,
    "log_to_file": ENV_LOGGING_TO_FILE,
    "max_wait_time": ENV_MAX_WAIT_TIME,
    "max_queue_size": ENV_MAX_QUEUE_SIZE,
    "instrument_llm_calls": ENV_INSTRUMENT_LLM_CALLS,
    "flush_timeout": ENV_FLUSH_TIMEOUT,
    "shutdown_timeout": ENV_SHUTDOWN_TIMEOUT,
    "spool": ENV_SPOOL,
    "spool_dir": ENV_SPOOL_DIR,
    "spool_max_bytes": ENV_SPOOL_MAX_BYTES,
    "durable": ENV_DURABLE,
    "max_cost_usd": ENV_MAX_COST_USD,
    "max_tokens": ENV_MAX_TOKENS,
    "max_llm_calls": ENV_MAX_LLM_CALLS,
    "default_tags": ENV_DEFAULT_TAGS,
    "trace_name": ENV_TRACE_NAME,
    "auto_start_session": ENV_AUTO_START_SESSION,
    "skip_auto_end_session": ENV_SKIP_AUTO_END_SESSION,
}


def apply(config: Configuration, changes: Mapping[str, Any], *, env: bool = False) -> Configuration:
    """`config` with each valid change applied; an invalid one is logged and ignored (never
    raised: init() and configure() must not crash the host over a setting)."""
    for name, value in changes.items():
        if value is None:
            continue
        try:
            config = config.replace(**{name: value})
        except (ConfigurationError, TypeError, ValueError) as exc:
            where = _ENV_OF_FIELD.get(name, name) if env else name
            logger.error("Ignoring the setting %s: %s", where, exc)
    return config


def build(**explicit: Any) -> Configuration:
    """Explicit arguments (None = not given) over AGENTOPS_* variables over the defaults;
    invalid values are logged and ignored."""
    return apply(apply(Configuration(), from_env(), env=True), explicit)
