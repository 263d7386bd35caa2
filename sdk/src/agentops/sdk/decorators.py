"""agentops 0.4's import path for its decorators: `from agentops.sdk.decorators import agent`."""

from __future__ import annotations

from agentops._entities import (
    agent,
    guardrail,
    operation,
    session,
    task,
    tool,
    trace,
    workflow,
)

__all__ = ["agent", "guardrail", "operation", "session", "task", "tool", "trace", "workflow"]
