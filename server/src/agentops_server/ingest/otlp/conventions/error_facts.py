"""The error a span with status ERROR reports, the same way for every convention.

Sources, best first: the span's first `exception` event (agentops records each exception twice
on one span; the first is taken, so the pair counts once), then `error.type` with the status
message, then a status message of the form "RuntimeError: tool exploded".
"""

from __future__ import annotations

import re

from agentops_server.ingest.otlp.conventions.facts import ErrorFacts
from agentops_server.ingest.otlp.conventions.values import text
from agentops_server.ingest.otlp.spans import Span

__all__ = ["STATUS_ERROR", "error_facts"]

STATUS_ERROR = 2
_TYPE_NAME = re.compile(r"[A-Za-z_][\w.]*")
_PYTHON_CLASS = re.compile(r"<class '([A-Za-z_][\w.]*)'>")
"""str(type(exc)), which some instrumentations (openai-v2) put in error.type."""


def error_facts(span: Span) -> ErrorFacts | None:
    """None unless the span's status is ERROR."""
    if span.status_code != STATUS_ERROR:
        return None
    status_type, status_detail = _split_status(span.status_message)
    declared = _type_name(text(span.attributes.get("error.type")))
    for event in span.events:
        if event.name == "exception":
            attrs = event.attributes
            kind = _type_name(text(attrs.get("exception.type")))
            message = text(attrs.get("exception.message"))
            if kind or message:
                return ErrorFacts(
                    type=kind or declared or status_type or "Error",
                    message=message or status_detail,
                    stacktrace=text(attrs.get("exception.stacktrace")),
                )
    kind = declared or status_type or "Error"
    # "RuntimeError: boom" with error.type RuntimeError says "boom"; "Error code: 404" stays whole.
    message = status_detail if status_type == kind else span.status_message
    return ErrorFacts(
        type=kind,
        message=message or text(span.attributes.get("error.message")) or "",
        stacktrace=text(span.attributes.get("error.stacktrace")),
    )


def _type_name(declared: str | None) -> str | None:
    """An exception type as its dotted name: "<class 'openai.InternalServerError'>" says
    "openai.InternalServerError", as other instrumentations do for the same exception."""
    if declared is not None and (found := _PYTHON_CLASS.fullmatch(declared)) is not None:
        return found.group(1)
    return declared


def _split_status(message: str) -> tuple[str | None, str]:
    """("RuntimeError", "tool exploded") from "RuntimeError: tool exploded"; else (None, msg)."""
    prefix, sep, rest = message.partition(": ")
    if sep and _TYPE_NAME.fullmatch(prefix):
        return prefix, rest
    return None, message
