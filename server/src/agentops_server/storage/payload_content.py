"""GenAI content from OTLP log records, merged into an LLM event's payload.

Instrumentations such as openai-v2 send prompts and completions as log records, apart from the
span, possibly over several export requests, before or after the span.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FROM_LOGS", "merge_content"]

FROM_LOGS = "content_from_logs"
"""The payload key listing which of its fields GenAI log records gave (the others came with
the span, and log records never add to those)."""


def merge_content(payload: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Put GenAI content from log records (`prompt`, `completion`: lists of messages) into an
    event's payload: where it has no value yet, or after what earlier log records gave (the
    messages of one call may come in several export requests); never over what the span
    itself carried. Returns what it took (empty: the payload is unchanged)."""
    from_logs: list[str] = list(payload.get(FROM_LOGS) or [])
    taken: dict[str, Any] = {}
    for key, value in fields.items():
        held = payload.get(key)
        if held is None:
            payload[key] = value
            from_logs.append(key)
            taken[key] = value
        elif key in from_logs and isinstance(held, list) and isinstance(value, list):
            payload[key] = held + value
            taken[key] = value
    if taken:
        payload[FROM_LOGS] = from_logs
    return taken
