"""agentops 0.4.21's agentops.semconv.status (the same names and values)."""

from __future__ import annotations

from enum import Enum


class ToolStatus(Enum):
    """Tool status values."""

    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
