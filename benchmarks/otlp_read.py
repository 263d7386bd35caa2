"""OTLP reading speed: decode and read_span, in microseconds per span.

    .venv/bin/python benchmarks/otlp_read.py [--spans 512] [--repeat 7]

The request is shaped like an agentops 0.4 export: half OpenAI chat spans (26 attributes,
legacy gen_ai.prompt.N / gen_ai.completion.N) and half @tool spans (5 attributes), one
resource, two scopes. Times are CPU time (process_time), best of --repeat, so that other
processes on a busy machine count less; the calibration line (a 25-item dict comprehension)
says how fast this interpreter and machine are right now.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
import timeit
from collections.abc import Callable
from functools import partial

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from agentops_server.ingest.otlp.conventions import read_span
from agentops_server.ingest.otlp.decode import decode_traces
from agentops_server.ingest.otlp.spans import Span as SpanRecord

Value = str | bool | int | float | list[str]

CHAT: dict[str, Value] = {
    "gen_ai.system": "OpenAI",
    "gen_ai.request.type": "chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.request.max_tokens": 50,
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.streaming": False,
    "gen_ai.request.top_p": 1.0,
    "gen_ai.user": "u-1",
    "gen_ai.prompt.0.role": "system",
    "gen_ai.prompt.0.content": "You are terse.",
    "gen_ai.prompt.1.role": "user",
    "gen_ai.prompt.1.content": "What is the weather in Paris today? " * 5,
    "gen_ai.request.functions.0.name": "get_weather",
    "gen_ai.request.functions.0.description": "Current weather for a city",
    "gen_ai.request.functions.0.parameters": json.dumps(
        {"type": "object", "properties": {"city": {"type": "string"}}}
    ),
    "gen_ai.response.id": "chatcmpl-fake123",
    "gen_ai.openai.system_fingerprint": "fp_fake",
    "gen_ai.usage.prompt_tokens": 21,
    "gen_ai.usage.completion_tokens": 7,
    "gen_ai.usage.total_tokens": 28,
    "gen_ai.completion.0.role": "assistant",
    "gen_ai.completion.0.content": "Sunny, 21C. " * 5,
    "gen_ai.completion.0.finish_reason": "stop",
    "gen_ai.openai.api_base": "http://127.0.0.1:8080/v1/",
    "llm.headers": "None",
}
TOOL: dict[str, Value] = {
    "agentops.span.kind": "tool",
    "operation.name": "get_weather",
    "agentops.tool.input": json.dumps({"args": ["Paris"], "kwargs": {}}),
    "agentops.tool.output": json.dumps({"city": "Paris", "temp_c": 21}),
    "gen_ai.usage.total_cost": 0.01,
}


def any_value(value: Value) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=v) for v in value]))
    return AnyValue(string_value=value)


def key_values(attrs: dict[str, Value]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]


def request(n: int) -> ExportTraceServiceRequest:
    trace_id = os.urandom(16)
    chats: list[Span] = []
    tools: list[Span] = []
    for i in range(n):
        chat = i % 2 == 0
        span = Span(
            trace_id=trace_id,
            span_id=os.urandom(8),
            parent_span_id=os.urandom(8),
            name="openai.chat.completion" if chat else "get_weather.tool",
            kind=Span.SPAN_KIND_CLIENT if chat else Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=1_700_000_000_000_000_000 + i,
            end_time_unix_nano=1_700_000_000_100_000_000 + i,
            status=Status(code=Status.STATUS_CODE_OK if chat else Status.STATUS_CODE_UNSET),
            attributes=key_values(CHAT if chat else TOOL),
        )
        (chats if chat else tools).append(span)
    resource = {"service.name": "agentops", "agentops.project.id": "temporary"}
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(
                    attributes=[
                        *key_values(dict(resource)),
                        *key_values({"imported_libraries": ["agentops", "openai"]}),
                    ]
                ),
                scope_spans=[
                    ScopeSpans(
                        scope=InstrumentationScope(name="openai", version="1.91.0"), spans=chats
                    ),
                    ScopeSpans(scope=InstrumentationScope(name="agentops"), spans=tools),
                ],
            )
        ]
    )


def as_json(message: ExportTraceServiceRequest) -> bytes:
    """OTLP/JSON: json_format's output with its base64 ids rewritten as hex."""
    tree = MessageToDict(message, use_integers_for_enums=True)
    for resource_spans in tree["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(tree).encode()


def read_all(spans: list[SpanRecord]) -> None:
    for span in spans:
        read_span(span)


def best_per_span(work: Callable[[], object], spans: int, repeat: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(rounds):
            work()
        best = min(best, (time.process_time() - start) / rounds / spans)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    message = request(args.spans)
    binary, text = message.SerializeToString(), as_json(message)
    spans = decode_traces(binary, "application/x-protobuf")
    chats = [s for s in spans if s.kind == Span.SPAN_KIND_CLIENT]
    tools = [s for s in spans if s.kind != Span.SPAN_KIND_CLIENT]
    n, repeat = len(spans), args.repeat
    print(f"{n} spans: protobuf {len(binary)} bytes, JSON {len(text)} bytes")
    protobuf = best_per_span(lambda: decode_traces(binary, "application/x-protobuf"), n, repeat, 20)
    print(f"decode protobuf      {protobuf:6.2f} us/span")
    json_us = best_per_span(lambda: decode_traces(text, "application/json"), n, repeat, 5)
    print(f"decode JSON          {json_us:6.2f} us/span")
    for label, group in (("chat", chats), ("tool", tools), ("all", spans)):
        us = best_per_span(partial(read_all, group), len(group), repeat, 20)
        print(f"read_span {label:10s} {us:6.2f} us/span")
    calibration = timeit.repeat("{str(i): i for i in range(25)}", number=20000, repeat=repeat)
    print(f"calibration          {min(calibration) / 20000 * 1e9:6.0f} ns")


if __name__ == "__main__":
    main()
