"""What `agentops serve` reads at start and again on every SIGHUP: its flags, the environment,
the --env-file, and the database (migrated with the code then on disk)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentops_server.auth.tokens import load_secret
from agentops_server.config import ConfigError, ServerConfig
from agentops_server.envfile import misspelled, read_env_file
from agentops_server.serving.supervisor import ReloadError, Settings

logger = logging.getLogger("uvicorn.error")


@dataclass
class SettingsSource:
    """The flags as given (None: not given), and the address the socket is bound to once it
    is: a reload can't move it, so a changed host or port is reported and ignored."""

    flags: Mapping[str, Any]
    workers: int | None
    env_file: Path | None
    log_level: str
    access_log: bool
    bound: tuple[str, int] | None = None
    handed: bool = False
    """The socket came from systemd (socket activation): host and port settings do not apply."""

    def environ(self) -> dict[str, str]:
        """The process environment, overridden by the env file's values."""
        values = dict(os.environ)
        if self.env_file is not None:
            from_file = read_env_file(self.env_file)
            for name, setting in misspelled(from_file):
                logger.warning(
                    "%s in %s is not a setting (did you mean %s?): ignored",
                    name,
                    self.env_file,
                    setting,
                )
            values.update(from_file)
        return values

    def read(self) -> Settings:
        """Settings from flags > env file > environment > defaults; ConfigError if unusable."""
        env = self.environ()
        config = ServerConfig.build(**self.flags, environ=env)
        workers = self.workers
        if workers is None:
            raw = env.get("AGENTOPS_WORKERS") or "1"
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigError(f"AGENTOPS_WORKERS must be a whole number >= 1, got {raw!r}")
            workers = int(raw)
        if self.bound is not None:
            moved = (config.host, config.port) != self.bound and config.port != 0
            if moved and not self.handed:
                logger.warning(
                    "The address %s:%d needs a full restart; still listening on %s:%d",
                    config.host,
                    config.port,
                    *self.bound,
                )
            config = replace(config, host=self.bound[0], port=self.bound[1])
        return Settings(config, workers, self.log_level, self.access_log)

    def reload(self) -> Settings:
        try:
            return self.read()
        except ConfigError as exc:
            raise ReloadError(str(exc)) from None


def migrate(settings: Settings) -> None:
    """On SIGHUP: the token secret, and the schema upgraded by the code now installed (a new
    process, so a new version's migrations run before its workers start)."""
    config = settings.config
    try:
        load_secret(config)
    except OSError as exc:
        raise ReloadError(f"cannot read or create the token secret: {exc}") from None
    env = {
        **os.environ,
        "AGENTOPS_DATABASE_URL": config.database_url,
        "AGENTOPS_DATA_DIR": str(config.data_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "agentops_server", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        message = lines[-1] if lines else f"exit status {done.returncode}"
        raise ReloadError(f"migrating the database failed: {message}")
    logger.info("%s", done.stdout.strip())
