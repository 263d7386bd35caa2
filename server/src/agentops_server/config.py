"""Server configuration: parsed once at the edge (the CLI), frozen, and passed down.

Precedence: command-line option, then AGENTOPS_* environment variable, then default.
Every variable is listed in ENV_VARS and documented in docs/settings.md.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

ENV_VARS: Final[dict[str, str]] = {
    "AGENTOPS_DATABASE_URL": "SQLAlchemy URL of the database; default: SQLite file in the data dir",
    "AGENTOPS_DATA_DIR": "directory of the SQLite file and the token secret; "
    "default ./agentops-data",
    "AGENTOPS_HOST": "interface to listen on; default 127.0.0.1",
    "AGENTOPS_PORT": "port to listen on; default 8000",
    "AGENTOPS_MAX_BODY_BYTES": "largest accepted request body (after decompression); "
    "default 50 MiB",
    "AGENTOPS_SESSION_INACTIVITY_SECONDS": "idle time after which an unended session gets an end; "
    "default 3600",
    "AGENTOPS_SECRET_KEY": "secret that signs session tokens; default: generated in the data dir",
    "AGENTOPS_WORKERS": "server processes of `agentops serve`, each with its own writer; default 1",
    "AGENTOPS_PUBLIC_URL": "URL users reach the server at, for links; default http://HOST:PORT",
    "AGENTOPS_KEY_CHECK_SECONDS": "how long a process trusts its answer to 'is the API key of "
    "this session token still active'; a revocation takes effect within it; default 5",
    "AGENTOPS_BUDGET_CHECK_SECONDS": "how long a process reuses a project's budget status "
    "(spend against its daily and monthly limits) before reading it again; a limit is signalled "
    "or lifted within it; 0 reads it for every ingest answer; default 5",
    "AGENTOPS_OTLP_PENDING_SECONDS": "how long spans that the agentops 0.4 client exported before "
    "its token arrived are held for an authenticated request of the same trace; default 600",
    "AGENTOPS_OTLP_PENDING_BYTES": "most bytes of such spans held at once (beyond: 503, the "
    "client retries); default 64 MiB",
    "AGENTOPS_HEADER_TIMEOUT_SECONDS": "a request's line and headers must arrive within it, or "
    "the connection is closed; default 10",
    "AGENTOPS_BODY_TIMEOUT_SECONDS": "a request's body must arrive within it once its headers "
    "are in, or the connection is closed; default 30",
    "AGENTOPS_KEEP_ALIVE_SECONDS": "idle keep-alive connections are closed after it; default 75",
    "AGENTOPS_MAX_CONNECTIONS": "open connections per server process; beyond it the longest "
    "idle (then the slowest reading) connection is closed for the new one; default 1000",
    "AGENTOPS_ALERT_INTERVAL_SECONDS": "how often alert rules are evaluated and due webhook "
    "deliveries sent (each server process; a decimal number); default 30",
    "AGENTOPS_ALERT_RETRY_SECONDS": "wait before the first retry of a failed webhook delivery, "
    "doubled each time up to an hour (a decimal number); default 30",
    "AGENTOPS_ALERT_MAX_ATTEMPTS": "delivery attempts of one alert before it is marked failed; "
    "default 8",
    "AGENTOPS_TRUSTED_PROXIES": "comma-separated addresses or networks of reverse proxies whose "
    "X-Forwarded-For/-Proto are believed; default none",
}

DEFAULT_DATA_DIR: Final = "./agentops-data"
SQLITE_FILENAME: Final = "agentops.sqlite3"
SECRET_FILENAME: Final = "secret.key"
PRIVATE_DIR_MODE: Final = 0o700
"""A data directory the server creates is its user's alone: the database holds prompts,
completions and password hashes (an existing directory is left as it is)."""
MIN_SECRET_BYTES: Final = 16  # what the token and cookie signers require
MAX_INACTIVITY_SECONDS: Final = 10 * 366 * 24 * 3600  # ten years: later dates overflow


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    database_url: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 50 * 1024 * 1024
    session_inactivity_seconds: int = 3600
    secret_key: str | None = None
    public_url: str | None = None
    key_check_seconds: int = 5
    budget_check_seconds: int = 5
    otlp_pending_seconds: int = 600
    otlp_pending_bytes: int = 64 * 1024 * 1024
    header_timeout_seconds: int = 10
    body_timeout_seconds: int = 30
    keep_alive_seconds: int = 75
    max_connections: int = 1000
    trusted_proxies: tuple[str, ...] = ()
    alert_interval_seconds: float = 30.0
    alert_retry_seconds: float = 30.0
    alert_max_attempts: int = 8

    def to_json(self) -> str:
        """Every field, for `serve` to hand its worker processes (see from_json)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["data_dir"] = str(self.data_dir)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        values = json.loads(text)
        values["data_dir"] = Path(values["data_dir"])
        values["trusted_proxies"] = tuple(values.get("trusted_proxies", ()))
        return cls(**values)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file, absolute; None on PostgreSQL."""
        if not self.is_sqlite:
            return None
        return Path(make_url(self.database_url).database or "").absolute()

    @property
    def base_url(self) -> str:
        return self.public_url or self.listen_url

    @property
    def listen_url(self) -> str:
        """Where this server listens (the port chosen, once bound with port 0)."""
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"http://{host}:{self.port}"

    @classmethod
    def build(
        cls,
        *,
        database_url: str | None = None,
        data_dir: str | Path | None = None,
        host: str | None = None,
        port: int | None = None,
        max_body_bytes: int | None = None,
        session_inactivity_seconds: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ServerConfig:
        """Combine explicit values (e.g. CLI options) with the environment and defaults."""
        env = os.environ if environ is None else environ
        resolved_dir = Path(data_dir or env.get("AGENTOPS_DATA_DIR") or DEFAULT_DATA_DIR)
        url = database_url or env.get("AGENTOPS_DATABASE_URL") or ""
        if not url:
            url = f"sqlite:///{(resolved_dir / SQLITE_FILENAME).resolve()}"
        url = _absolute_sqlite(normalize_database_url(url))
        return cls(
            database_url=url,
            data_dir=resolved_dir.resolve(),
            host=host or env.get("AGENTOPS_HOST") or "127.0.0.1",
            port=_int("port", port, env.get("AGENTOPS_PORT"), 8000, minimum=0, maximum=65535),
            max_body_bytes=_int(
                "max body bytes",
                max_body_bytes,
                env.get("AGENTOPS_MAX_BODY_BYTES"),
                50 * 1024 * 1024,
                minimum=1024,
            ),
            session_inactivity_seconds=_int(
                "session inactivity seconds",
                session_inactivity_seconds,
                env.get("AGENTOPS_SESSION_INACTIVITY_SECONDS"),
                3600,
                minimum=1,
                maximum=MAX_INACTIVITY_SECONDS,
            ),
            secret_key=_secret(env.get("AGENTOPS_SECRET_KEY") or None),
            public_url=_public_url(env.get("AGENTOPS_PUBLIC_URL") or None),
            key_check_seconds=_int(
                "key check seconds", None, env.get("AGENTOPS_KEY_CHECK_SECONDS"), 5, minimum=0
            ),
            budget_check_seconds=_int(
                "budget check seconds", None, env.get("AGENTOPS_BUDGET_CHECK_SECONDS"), 5, minimum=0
            ),
            otlp_pending_seconds=_int(
                "OTLP pending seconds",
                None,
                env.get("AGENTOPS_OTLP_PENDING_SECONDS"),
                600,
                minimum=1,
            ),
            otlp_pending_bytes=_int(
                "OTLP pending bytes",
                None,
                env.get("AGENTOPS_OTLP_PENDING_BYTES"),
                64 * 1024 * 1024,
                minimum=0,
            ),
            header_timeout_seconds=_int(
                "header timeout seconds",
                None,
                env.get("AGENTOPS_HEADER_TIMEOUT_SECONDS"),
                10,
                minimum=1,
            ),
            body_timeout_seconds=_int(
                "body timeout seconds",
                None,
                env.get("AGENTOPS_BODY_TIMEOUT_SECONDS"),
                30,
                minimum=1,
            ),
            keep_alive_seconds=_int(
                "keep-alive seconds", None, env.get("AGENTOPS_KEEP_ALIVE_SECONDS"), 75, minimum=1
            ),
            max_connections=_int(
                "max connections", None, env.get("AGENTOPS_MAX_CONNECTIONS"), 1000, minimum=2
            ),
            trusted_proxies=parse_proxies(env.get("AGENTOPS_TRUSTED_PROXIES") or ""),
            alert_interval_seconds=_seconds(
                "alert interval seconds", env.get("AGENTOPS_ALERT_INTERVAL_SECONDS"), 30.0
            ),
            alert_retry_seconds=_seconds(
                "alert retry seconds", env.get("AGENTOPS_ALERT_RETRY_SECONDS"), 30.0
            ),
            alert_max_attempts=_int(
                "alert max attempts", None, env.get("AGENTOPS_ALERT_MAX_ATTEMPTS"), 8, minimum=1
            ),
        )


def normalize_database_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and route them to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite:"):
        if url.rstrip("/") == "sqlite:":
            raise ConfigError(
                f"the SQLite URL {url!r} names no file: use sqlite:///PATH (an absolute path "
                "takes four slashes: sqlite:////var/lib/agentops/agentops.sqlite3)"
            )
        return url
    if url.startswith("postgresql+psycopg:"):
        return url
    raise ConfigError(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def _absolute_sqlite(url: str) -> str:
    """A SQLite URL with a relative path (three slashes: sqlite:///var/x.sqlite3 is
    ./var/x.sqlite3) made absolute, so that every message names the file it means and the
    server's processes and its reload open the same file."""
    if not url.startswith("sqlite:"):
        return url
    parsed = make_url(url)
    database = parsed.database or ""
    if database == ":memory:" or database.startswith("file:") or os.path.isabs(database):
        return url
    return parsed.set(database=str(Path(database).resolve())).render_as_string(hide_password=False)


def parse_proxies(raw: str) -> tuple[str, ...]:
    """`10.0.0.1, 10.1.0.0/16` -> the addresses and networks, each checked. A network written
    with host bits (`10.0.0.5/16`) means its network (`10.0.0.0/16`): uvicorn, which decides
    whom to trust, matches no address against it as written."""
    found = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(
                f"trusted proxies: {item!r} is not an IP address or network (like 10.0.0.0/8)"
            ) from None
        found.append(item if "/" not in item else str(network))
    return tuple(found)


def _public_url(raw: str | None) -> str | None:
    """An absolute http(s) URL with a host, without its trailing slash: links are its text
    followed by /sessions/ID (`agentops.example.com` made links no browser opens)."""
    if raw is None:
        return None
    example = "like https://agentops.example.com"
    try:
        parts = urlsplit(raw)
        _ = parts.port  # a port that is not a number, or is too large, raises here
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or not c.isprintable() for c in raw)
    ):
        raise ConfigError(
            f"AGENTOPS_PUBLIC_URL must be an absolute http:// or https:// URL with a host, "
            f"{example}, got {raw!r}"
        )
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise ConfigError(
            f"AGENTOPS_PUBLIC_URL must have no query or fragment (links are added to its path), "
            f"{example}, got {raw!r}"
        )
    return raw.rstrip("/")


def _secret(raw: str | None) -> str | None:
    if raw is not None and len(raw.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"AGENTOPS_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long, got "
            f"{len(raw.encode())} (a random one: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    return raw


def _int(
    name: str,
    given: int | None,
    raw: str | None,
    default: int,
    *,
    minimum: int,
    maximum: int | None = None,
) -> int:
    if given is not None:
        value = given
    elif raw:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    else:
        value = default
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _seconds(name: str, raw: str | None, default: float) -> float:
    """A positive decimal number of seconds (at least 0.05, at most a day)."""
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0.05 <= value <= 86400:  # also refuses NaN
        raise ConfigError(f"{name} must be between 0.05 and 86400, got {raw!r}")
    return value
