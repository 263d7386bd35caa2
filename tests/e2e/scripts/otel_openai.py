"""An app traced by a REAL OpenTelemetry OpenAI instrumentation, run with .venv-otel's python.

otel_openai.py INSTRUMENTATION SERVER_URL API_KEY OPENAI_BASE_URL

INSTRUMENTATION is "openai-v2" (opentelemetry-instrumentation-openai-v2, message content on
spans and as /v1/logs records, API key as a Bearer token), "openai-v2-events" (the same with
message content as /v1/logs records only, event_only) or "openinference"
(openinference-instrumentation-openai with using_attributes tags, API key in
X-Agentops-Api-Key, gzip-compressed exports). The stock OTLP/HTTP exporters send to
SERVER_URL/v1/traces and /v1/logs.

Three traces, each rooted at a span of the app's own tracer:
  "ok"    a chat completion, a streamed one (with usage) and an embedding; the root ends
          without error (status UNSET)
  "fail"  a chat completion the provider answers 404; the exception escapes the root (ERROR)
  "tools" a chat completion answered with a tool call
The last stdout line is JSON: the session ids (trace ids as UUIDs), the first two's root span
ids (16 hex) and the result of every export the exporters made.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any

import openai
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

EXPORTS: list[str] = []  # "traces SUCCESS", "logs FAILURE", ...


class RecordingSpanExporter(OTLPSpanExporter):
    """The stock exporter; each export's result is kept for the test to check."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = super().export(spans)
        EXPORTS.append(f"traces {result.name}")
        return result


class RecordingLogExporter(OTLPLogExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        result = super().export(batch)
        EXPORTS.append(f"logs {result.name}")
        return result


def span_hex(span: Any) -> str:
    return f"{span.get_span_context().span_id:016x}"


def session_id(span: Any) -> str:
    return str(uuid.UUID(hex=f"{span.get_span_context().trace_id:032x}"))


def setup(instrumentation: str, url: str, key: str) -> tuple[TracerProvider, LoggerProvider]:
    if instrumentation.startswith("openai-v2"):
        headers = {"Authorization": f"Bearer {key}"}
        compression = Compression.NoCompression
    else:
        headers = {"X-Agentops-Api-Key": key}
        compression = Compression.Gzip
    resource = Resource.create({"service.name": f"e2e-{instrumentation}"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            RecordingSpanExporter(
                endpoint=url + "/v1/traces", headers=headers, compression=compression
            )
        )
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            RecordingLogExporter(
                endpoint=url + "/v1/logs", headers=headers, compression=compression
            )
        )
    )
    if instrumentation.startswith("openai-v2"):
        capture = "event_only" if instrumentation == "openai-v2-events" else "span_and_event"
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = capture
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(
            tracer_provider=tracer_provider, logger_provider=logger_provider
        )
    else:
        from openinference.instrumentation.openai import OpenAIInstrumentor as OIInstrumentor

        OIInstrumentor().instrument(tracer_provider=tracer_provider)
    return tracer_provider, logger_provider


def calls(client: openai.OpenAI) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hi"},
        ],
        max_tokens=50,
    )
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Stream hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    client.embeddings.create(model="text-embedding-3-small", input="hello")


def run(instrumentation: str, url: str, key: str, openai_url: str) -> dict[str, Any]:
    tracer_provider, logger_provider = setup(instrumentation, url, key)
    tracer = tracer_provider.get_tracer("e2e.app")
    client = openai.OpenAI(api_key="sk-fake", base_url=openai_url, max_retries=0)
    out: dict[str, Any] = {}

    with tracer.start_as_current_span(f"{instrumentation}-ok") as root:
        if instrumentation == "openinference":
            from openinference.instrumentation import using_attributes

            with using_attributes(
                session_id="conversation-1",
                user_id="user-1",
                metadata={"experiment": "e2e"},
                tags=["oi-a", "oi-b"],
            ):
                calls(client)
        else:
            calls(client)
        out["ok"] = session_id(root)
        out["ok_root"] = span_hex(root)

    try:
        with tracer.start_as_current_span(f"{instrumentation}-fail") as root:
            out["fail"] = session_id(root)
            out["fail_root"] = span_hex(root)
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "Fail please"}],
                user="fail-404",
            )
    except openai.NotFoundError:
        pass

    with tracer.start_as_current_span(f"{instrumentation}-tools") as root:
        out["tools"] = session_id(root)
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
        )

    tracer_provider.shutdown()  # flushes
    logger_provider.shutdown()
    out["exports"] = EXPORTS
    return out


def main() -> None:
    instrumentation, url, key, openai_url = sys.argv[1:5]
    if instrumentation not in ("openai-v2", "openai-v2-events", "openinference"):
        raise SystemExit(f"unknown instrumentation {instrumentation!r}")
    print(json.dumps(run(instrumentation, url, key, openai_url)), flush=True)


if __name__ == "__main__":
    main()
