"""OTLP requests for tests and benchmarks, built with the real opentelemetry-proto messages."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

T0_NS = 1_764_000_000_000_000_000  # 2025-11-24T16:00:00Z
AGENTOPS_RESOURCE = {
    "service.name": "agentops",
    "agentops.project.id": "temporary",
    "imported_libraries": '["agentops","openai"]',
}


def new_trace_id() -> str:
    return os.urandom(16).hex()


def new_span_id() -> str:
    return os.urandom(8).hex()


def session_of(trace_id: str) -> str:
    return str(uuid.UUID(hex=trace_id))


@dataclass
class SpanSpec:
    name: str
    trace_id: str
    span_id: str = field(default_factory=new_span_id)
    parent: str | None = None
    start_ms: float = 0.0
    end_ms: float = 10.0
    attributes: Mapping[str, Any] = field(default_factory=dict)
    kind: int = 1  # INTERNAL
    status: int = 0  # UNSET
    status_message: str = ""
    events: Sequence[tuple[str, Mapping[str, Any]]] = ()
    scope: str = "agentops"


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list | tuple):
        out = AnyValue()
        out.array_value.values.extend(any_value(v) for v in value)
        return out
    if isinstance(value, Mapping):
        out = AnyValue()
        out.kvlist_value.values.extend(key_values(value))
        return out
    if value is None:
        return AnyValue()
    return AnyValue(string_value=str(value))


def key_values(attributes: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def pb_span(spec: SpanSpec) -> PbSpan:
    span = PbSpan(
        trace_id=bytes.fromhex(spec.trace_id),
        span_id=bytes.fromhex(spec.span_id),
        parent_span_id=bytes.fromhex(spec.parent) if spec.parent else b"",
        name=spec.name,
        kind=spec.kind,  # type: ignore[arg-type]
        start_time_unix_nano=T0_NS + int(spec.start_ms * 1_000_000),
        end_time_unix_nano=T0_NS + int(spec.end_ms * 1_000_000),
        status=Status(code=spec.status, message=spec.status_message),  # type: ignore[arg-type]
    )
    span.attributes.extend(key_values(spec.attributes))
    for name, attributes in spec.events:
        event = span.events.add()
        event.name = name
        event.time_unix_nano = T0_NS + int(spec.end_ms * 1_000_000)
        event.attributes.extend(key_values(attributes))
    return span


def trace_request(
    specs: Sequence[SpanSpec], resource: Mapping[str, Any] | None = None
) -> ExportTraceServiceRequest:
    """One resource; spans grouped by scope as the OTel SDK exporter groups them."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource or AGENTOPS_RESOURCE))
    scopes: dict[str, Any] = {}
    for spec in specs:
        if spec.scope not in scopes:
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = spec.scope
            scopes[spec.scope] = scope_spans
        scopes[spec.scope].spans.append(pb_span(spec))
    return request


def agentops_llm_span(trace_id: str, parent: str, *, start_ms: float = 1.0) -> SpanSpec:
    """An OpenAI chat span as agentops 0.4.21 sends it (reference §1.8)."""
    return SpanSpec(
        name="openai.chat.completion",
        trace_id=trace_id,
        parent=parent,
        start_ms=start_ms,
        end_ms=start_ms + 5,
        kind=3,
        status=1,
        scope="openai",
        attributes={
            "gen_ai.system": "OpenAI",
            "gen_ai.request.type": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.request.max_tokens": 50,
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.streaming": False,
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "You are terse.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Say hello",
            "gen_ai.response.id": "chatcmpl-" + new_span_id(),
            "gen_ai.openai.system_fingerprint": "fp_fake",
            "gen_ai.usage.prompt_tokens": 21,
            "gen_ai.usage.completion_tokens": 7,
            "gen_ai.usage.total_tokens": 28,
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Hello there, how can I help?",
            "gen_ai.completion.0.finish_reason": "stop",
        },
    )


def agentops_tool_span(
    trace_id: str, parent: str, *, cost: float | None = None, start_ms: float = 6.0
) -> SpanSpec:
    attributes: dict[str, Any] = {
        "agentops.span.kind": "tool",
        "operation.name": "get_weather",
        "agentops.tool.input": '{"args": ["Paris"], "kwargs": {}}',
        "agentops.tool.output": '{"city": "Paris", "temp_c": 21}',
    }
    if cost is not None:
        attributes["gen_ai.usage.total_cost"] = cost
    return SpanSpec(
        name="get_weather.tool",
        trace_id=trace_id,
        parent=parent,
        start_ms=start_ms,
        end_ms=start_ms + 2,
        attributes=attributes,
    )


def agentops_session_span(
    trace_id: str, name: str = "workflow", *, end_state: str | None = "Success", **extra: Any
) -> SpanSpec:
    attributes: dict[str, Any] = {
        "agentops.span.kind": "session",
        "operation.name": name,
        "agentops.tags": ["alpha", "beta"],
        **extra,
    }
    if end_state is not None:
        attributes["agentops.session.end_state"] = end_state
    return SpanSpec(
        name=f"{name}.session", trace_id=trace_id, start_ms=0, end_ms=100, attributes=attributes
    )


def chat_trace() -> tuple[str, list[SpanSpec]]:
    """A trace whose root holds one chat call: (the call's span id, the spans)."""
    trace_id = new_trace_id()
    root = SpanSpec("main", trace_id, scope="app")
    chat = SpanSpec("chat gpt-4o-mini", trace_id, parent=root.span_id, kind=3, scope="genai",
                    attributes={"gen_ai.operation.name": "chat",
                                "gen_ai.request.model": "gpt-4o-mini",
                                "gen_ai.usage.input_tokens": 21,
                                "gen_ai.usage.output_tokens": 7})  # fmt: skip
    return chat.span_id, [chat, root]
