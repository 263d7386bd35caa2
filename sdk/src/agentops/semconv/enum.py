"""agentops 0.4.21's agentops.semconv.enum (the same names and values)."""

from __future__ import annotations

from enum import Enum


class LLMRequestTypeValues(Enum):
    COMPLETION = "completion"
    CHAT = "chat"
    RERANK = "rerank"
    EMBEDDING = "embedding"
    UNKNOWN = "unknown"
