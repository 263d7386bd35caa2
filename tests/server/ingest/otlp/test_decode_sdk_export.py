"""What the real OpenTelemetry SDK exporter encodes (as agentops 0.4 sends it) decodes intact."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from agentops_server.ingest.otlp.decode import decode_traces
from agentops_server.ingest.otlp.spans import Span


def exported() -> tuple[Sequence[ReadableSpan], list[Span]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "agentops", "agentops.project.id": "temporary"})
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    agentops = provider.get_tracer("agentops")
    openai = provider.get_tracer("openai", "1.91.0")
    with agentops.start_as_current_span("session.session") as session:
        session.set_attribute("agentops.span.kind", "session")
        session.set_attribute("agentops.tags", ["legacy-tag-1", "legacy-tag-2"])
        with openai.start_as_current_span("openai.chat.completion", kind=SpanKind.CLIENT) as llm:
            llm.set_attributes(
                {
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.prompt_tokens": 21,
                    "gen_ai.request.temperature": 0.2,
                    "gen_ai.request.streaming": False,
                }
            )
            llm.set_status(Status(StatusCode.OK))
        try:
            with agentops.start_as_current_span("failing_tool.tool") as tool:
                tool.set_attribute("gen_ai.usage.total_cost", 0.01)
                raise RuntimeError("tool exploded")
        except RuntimeError:
            pass
    provider.shutdown()
    finished = memory.get_finished_spans()
    body = encode_spans(finished).SerializeToString()
    return finished, decode_traces(body, "application/x-protobuf")


def test_sdk_spans_keep_ids_tree_and_timing() -> None:
    finished, spans = exported()
    by_id = {s.span_id: s for s in spans}
    assert len(by_id) == 3
    for sdk_span in finished:
        context = sdk_span.get_span_context()
        assert context is not None
        span = by_id[f"{context.span_id:016x}"]
        assert span.trace_id == f"{context.trace_id:032x}"
        parent = sdk_span.parent
        assert span.parent_span_id == (f"{parent.span_id:016x}" if parent else None)
        assert (span.name, span.start_ns, span.end_ns) == (
            sdk_span.name,
            sdk_span.start_time,
            sdk_span.end_time,
        )


def test_sdk_spans_keep_attributes_scopes_and_status() -> None:
    _, spans = exported()
    by_name = {s.name: s for s in spans}
    session, llm = by_name["session.session"], by_name["openai.chat.completion"]
    assert session.attributes == {
        "agentops.span.kind": "session",
        "agentops.tags": ["legacy-tag-1", "legacy-tag-2"],
    }
    assert llm.attributes["gen_ai.usage.prompt_tokens"] == 21
    assert llm.attributes["gen_ai.request.temperature"] == 0.2
    assert llm.attributes["gen_ai.request.streaming"] is False
    assert (llm.kind, llm.status_code, llm.scope_name, llm.scope_version) == (
        3,
        1,
        "openai",
        "1.91.0",
    )
    assert session.resource["service.name"] == "agentops"
    assert session.resource is llm.resource


def test_a_recorded_exception_arrives_as_an_event() -> None:
    _, spans = exported()
    (tool,) = [s for s in spans if s.name == "failing_tool.tool"]
    assert (tool.status_code, tool.status_message) == (2, "RuntimeError: tool exploded")
    (event,) = tool.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["exception.message"] == "tool exploded"
    assert "Traceback" in str(event.attributes["exception.stacktrace"])
