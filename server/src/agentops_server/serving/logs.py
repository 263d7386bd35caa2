"""The log output of `agentops serve`: uvicorn's format and level for the server's own loggers
(`agentops_server.*`: the sweeper, the alerter, ingest warnings) as for uvicorn's, so that
`--log-level` governs both. Without this they fell through to Python's last-resort handler:
warnings and errors only, whatever the level, and without the level's prefix."""

from __future__ import annotations

import copy
from typing import Any

from uvicorn.config import LOG_LEVELS, LOGGING_CONFIG

SERVER_LOGGER = "agentops_server"


def log_config(log_level: str) -> dict[str, Any]:
    """uvicorn's logging configuration (uvicorn.Config's log_config) with the server's
    loggers on its default handler, at `log_level`."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"][SERVER_LOGGER] = {
        "handlers": ["default"],
        "level": LOG_LEVELS[log_level],
        "propagate": False,
    }
    return config
