"""`agentops serve --env-file FILE`: AGENTOPS_* settings in a file that SIGHUP re-reads.

The format is systemd's EnvironmentFile and docker's --env-file: `NAME=value` lines, blank
lines and `#` comments ignored, an optional `export ` prefix, and values optionally in single
or double quotes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from agentops_server.config import ENV_VARS, ConfigError


def read_env_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the env file {path}: {exc}") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise ConfigError(f"{path}:{number}: expected NAME=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def misspelled(names: Iterable[str]) -> list[tuple[str, str]]:
    """(name, the setting it is close to) for each AGENTOPS_* name that is no setting but
    nearly one: a typo in an env file would otherwise be ignored without a word."""
    known = list(ENV_VARS)
    found = []
    for name in names:
        if name.startswith("AGENTOPS_") and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            if close:
                found.append((name, close[0]))
    return found
