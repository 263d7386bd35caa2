"""Plain records decoded from OTLP requests: spans, span events and log records.

They hold what the wire said, normalised only in form (ids as lowercase hex, AnyValue as
Python values); what a span means is read later by `conventions.read_span`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AttrValue", "LogRecord", "Span", "SpanEvent"]

# An OTLP AnyValue as Python: arrays become lists, kvlists dicts, bytesValue a base64 string.
AttrValue = str | bool | int | float | list["AttrValue"] | dict[str, "AttrValue"] | None


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: dict[str, AttrValue]


@dataclass(slots=True)  # not frozen: frozen costs ~2 us per span at decode, the hot path
class Span:
    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    parent_span_id: str | None  # None for a root (empty, all-zero or missing on the wire)
    name: str
    kind: int  # OTel SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer...
    start_ns: int
    end_ns: int
    status_code: int  # 0 unset, 1 ok, 2 error
    status_message: str
    attributes: dict[str, AttrValue]
    events: tuple[SpanEvent, ...]
    resource: dict[str, AttrValue]  # one dict object shared by all spans of a resource
    scope_name: str
    scope_version: str


@dataclass(frozen=True, slots=True)
class LogRecord:
    trace_id: str | None
    span_id: str | None
    time_ns: int  # timeUnixNano, else observedTimeUnixNano
    observed_ns: int  # observedTimeUnixNano, 0 if absent (part of log_content.record_key)
    event_name: str  # the eventName field, else the older `event.name` attribute, else ""
    body: AttrValue
    attributes: dict[str, AttrValue]
    resource: dict[str, AttrValue]
