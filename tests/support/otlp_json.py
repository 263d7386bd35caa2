"""OTLP/HTTP JSON requests written by hand, as the protocol's JSON mapping spells them.

Trace and span ids are hex strings, enums are integers, and int64 values (times, intValue)
are decimal strings. For tests that send what no instrumentation sends, or send it badly.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT = 1, 3
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def session_id(trace_id: str) -> str:
    """The session a trace becomes: its 32-hex trace id as a UUID."""
    return str(uuid.UUID(hex=trace_id))


def any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    raise TypeError(f"no OTLP AnyValue for {value!r}")


def attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in values.items()]


@dataclass
class Span:
    """One span; times default to "now", children should be given times inside their parent."""

    trace_id: str
    name: str
    span_id: str = field(default_factory=new_span_id)
    parent_id: str | None = None
    kind: int = SPAN_KIND_INTERNAL
    start_ns: int = field(default_factory=time.time_ns)
    end_ns: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    status_code: int = STATUS_UNSET
    status_message: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)

    def child(self, name: str, **fields: Any) -> Span:
        return Span(trace_id=self.trace_id, name=name, parent_id=self.span_id, **fields)

    def exception(self, type_: str, message: str) -> Span:
        """Status ERROR plus an `exception` span event, as OTel's record_exception makes it."""
        self.status_code, self.status_message = STATUS_ERROR, f"{type_}: {message}"
        event_attributes = {"exception.type": type_, "exception.message": message}
        event_attributes["exception.stacktrace"] = f"Traceback ...\n{type_}: {message}\n"
        self.events.append(
            {
                "timeUnixNano": str(self.end_ns or time.time_ns()),
                "name": "exception",
                "attributes": attributes(event_attributes),
            }
        )
        return self

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "name": self.name,
            "kind": self.kind,
            "startTimeUnixNano": str(self.start_ns),
            "endTimeUnixNano": str(self.end_ns or self.start_ns + 1_000_000),
            "attributes": attributes(self.attributes),
            "status": {"code": self.status_code},
        }
        if self.parent_id:
            data["parentSpanId"] = self.parent_id
        if self.status_message:
            data["status"]["message"] = self.status_message
        if self.events:
            data["events"] = self.events
        return data


def export_request(
    spans: list[Span], service_name: str = "hand-written", scope: str = "tests.hand"
) -> dict[str, Any]:
    """An ExportTraceServiceRequest holding `spans` under one resource and one scope."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attributes({"service.name": service_name})},
                "scopeSpans": [
                    {
                        "scope": {"name": scope, "version": "1.0"},
                        "spans": [span.to_json() for span in spans],
                    }
                ],
            }
        ]
    }
