"""agentops: observability for AI agents (the AgentOps Session API). Work in progress."""

from __future__ import annotations

__version__ = "0.1.0"
