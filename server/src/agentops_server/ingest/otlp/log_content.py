"""GenAI content that instrumentations put in OTLP log records instead of spans.

opentelemetry-instrumentation-openai-v2 (and the GenAI event conventions) emit prompts and
completions as log records linked to the LLM span by trace and span id: the current
`gen_ai.client.inference.operation.details` event with structured `gen_ai.input.messages` /
`gen_ai.output.messages`, or the deprecated per-message events. They are joined to the span's
event as its `prompt` and `completion`, once per record: each record's content is kept under
its key (record_key), so a request an exporter sends again adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

from agentops_server.ingest.otlp.conventions.messages import (
    structured_messages,
    with_openai_tool_calls,
)
from agentops_server.ingest.otlp.spans import AttrValue, LogRecord
from agentops_server.storage.payload_content import Records

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"

Contents = dict[str, Records]
"""span id -> {record key: {"prompt": messages, "completion": messages}}, for one trace."""


def contents_by_trace(records: Iterable[LogRecord]) -> dict[str, Contents]:
    """The GenAI content of log records, grouped by trace and span, each record's under its
    key in the request's order. Other records are ignored."""
    found: dict[str, Contents] = {}
    for record in records:
        if record.trace_id is None or record.span_id is None:
            continue
        content = _content(record)
        if not content:
            continue
        span = found.setdefault(record.trace_id, {}).setdefault(record.span_id, {})
        key = record_key(record)
        if key in span:  # the same record twice in one request: the n-th copy is its own
            n = 2
            while f"{key}.{n}" in span:
                n += 1
            key = f"{key}.{n}"
        span[key] = content
    return found


def record_key(record: LogRecord) -> str:
    """What tells a log record from the others of its span, the same for every copy an
    exporter sends: a 64-bit hash of its timestamp, observed time, event name, body and
    attributes (OTLP gives a record no id). The OTel SDK stamps each record's observed time
    in nanoseconds, so records that differ in nothing else are still distinct; records with
    no time at all are told apart only by their place in one request (contents_by_trace)."""
    identity = (
        record.time_ns,
        record.observed_ns,
        record.event_name,
        record.body,
        record.attributes,
    )
    return hashlib.sha256(orjson.dumps(identity)).digest()[:8].hex()


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
        return {"prompt": [with_openai_tool_calls({"role": _MESSAGE_EVENTS[name], **body})]}
    if name == CHOICE_EVENT:  # one record per choice (merge_content: one choice, one message)
        body = record.body if isinstance(record.body, dict) else {"content": record.body}
        found = body.get("message")
        message = dict(found if isinstance(found, dict) else body)
        message["role"] = message.get("role") or "assistant"  # the semconv's default
        return {"completion": [with_openai_tool_calls(message)]}
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
