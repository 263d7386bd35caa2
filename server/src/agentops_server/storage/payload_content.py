"""GenAI content from OTLP log records, merged into an LLM event's payload.

Instrumentations such as openai-v2 send prompts and completions as log records, apart from the
span, possibly over several export requests, before or after the span; and an exporter sends a
request again when it did not see the answer, so each record is merged once, by its key.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FROM_LOGS", "LOG_RECORDS", "Records", "completion_of", "merge_content"]

FROM_LOGS = "content_from_logs"
"""The payload key listing which of its fields GenAI log records gave (the others came with
the span, and log records never add to those)."""
LOG_RECORDS = "content_log_records"
"""The payload key listing the keys of the log records whose content it took, in order."""

Records = dict[str, dict[str, Any]]
"""GenAI content of log records by record key (ingest/otlp/log_content.py record_key), in
arrival order: {key: {"prompt": messages, "completion": messages}}."""


def completion_of(messages: Any) -> Any:
    """A completion as every protocol stores it: the message of a call's one choice, the
    list of messages of several (n > 1); anything that is not a list of messages as it is."""
    if isinstance(messages, list) and len(messages) == 1 and isinstance(messages[0], dict):
        return messages[0]
    return messages


def merge_content(payload: dict[str, Any], records: Records) -> dict[str, Any]:
    """Put GenAI content from log records (`prompt`, `completion`: lists of messages) into an
    event's payload: where it has no value yet, or after what earlier log records gave (the
    messages of one call may come in several export requests; a completion of one message
    is that message, see completion_of); never over what the span itself carried, and
    never twice from one record (LOG_RECORDS). Returns what it took (empty: the payload is
    unchanged)."""
    done: list[str] = _listed(payload, LOG_RECORDS)
    seen = set(done)
    from_logs: list[str] = _listed(payload, FROM_LOGS)
    taken: dict[str, Any] = {}
    for record, fields in records.items():
        if record in seen:
            continue
        took = False
        for key, value in fields.items():
            held = payload.get(key)
            if held is None:
                merged = value
                from_logs.append(key)
            elif key in from_logs and isinstance(value, list) and isinstance(held, list | dict):
                merged = (held if isinstance(held, list) else [held]) + value  # dict: one choice
            else:
                continue
            payload[key] = completion_of(merged) if key == "completion" else merged
            took = True
            got = taken.get(key)
            taken[key] = got + value if isinstance(got, list) and isinstance(value, list) else value
        if took:  # a record that took nothing would take nothing again: not listed
            seen.add(record)
            done.append(record)
    if taken:
        payload[FROM_LOGS] = from_logs
        payload[LOG_RECORDS] = done
    return taken


def _listed(payload: dict[str, Any], key: str) -> list[str]:
    """The names a payload lists under `key`; none when it holds something else (a v2 client
    may send any field in an event, these two included)."""
    value = payload.get(key)
    return [name for name in value if isinstance(name, str)] if isinstance(value, list) else []
