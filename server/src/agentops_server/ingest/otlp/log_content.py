"""GenAI content that instrumentations put in OTLP log records instead of spans.

opentelemetry-instrumentation-openai-v2 (and the GenAI event conventions) emit prompts and
completions as log records linked to the LLM span by trace and span id: the current
`gen_ai.client.inference.operation.details` event with structured `gen_ai.input.messages` /
`gen_ai.output.messages`, or the deprecated per-message events. They are joined to the span's
event as its `prompt` and `completion`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentops_server.ingest.otlp.conventions.messages import structured_messages
from agentops_server.ingest.otlp.spans import AttrValue, LogRecord

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"

Contents = dict[str, dict[str, Any]]
"""span id -> {"prompt": messages, "completion": messages}, for one trace."""


def contents_by_trace(records: Iterable[LogRecord]) -> dict[str, Contents]:
    """The GenAI content of log records, grouped by trace and span. Other records are ignored."""
    found: dict[str, Contents] = {}
    for record in records:
        if record.trace_id is None or record.span_id is None:
            continue
        content = _content(record)
        if not content:
            continue
        span = found.setdefault(record.trace_id, {}).setdefault(record.span_id, {})
        for key, messages in content.items():
            span.setdefault(key, []).extend(messages)
    return found


def _content(record: LogRecord) -> dict[str, list[Any]]:
    name = record.event_name
    attributes = record.attributes
    if name == DETAILS_EVENT or "gen_ai.input.messages" in attributes:
        # normalised as the same attributes on a span are: {"role", "content", ...}
        out: dict[str, list[Any]] = {}
        prompt = _messages(
            structured_messages(
                attributes.get("gen_ai.input.messages"),
                attributes.get("gen_ai.system_instructions"),
            )
        )
        if prompt:
            out["prompt"] = prompt
        completion = _messages(structured_messages(attributes.get("gen_ai.output.messages"), None))
        if completion:
            out["completion"] = completion
        return out
    if name in _MESSAGE_EVENTS:
        body = record.body if isinstance(record.body, dict) else {"content": record.body}
        return {"prompt": [{"role": _MESSAGE_EVENTS[name], **body}]}
    if name == CHOICE_EVENT:
        body = record.body if isinstance(record.body, dict) else {"content": record.body}
        message = body.get("message") if isinstance(body.get("message"), dict) else body
        return {"completion": [message]}
    return {}


def _messages(value: AttrValue) -> list[Any]:
    """A list of messages from what structured_messages gave (a text that is not JSON, or
    nested too deep to keep as structure, is one message of unknown role)."""
    if isinstance(value, str):
        return [{"role": "unknown", "content": value}]
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return [value]
    return []
