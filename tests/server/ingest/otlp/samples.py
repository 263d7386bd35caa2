"""Spans whose attributes are what the reference doc records as observed or read per convention.

Reference: shared/reference/otlp-and-agentops-0.4.md (§1.8 agentops 0.4.21, §2 GenAI semconv and
openai-v2, §3.1 OpenLLMetry 0.45.6 / 0.62.4, §3.2 OpenInference).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from agentops_server.ingest.otlp.spans import AttrValue, Span, SpanEvent

TRACE = "5b8efff798038103d269b633813fc60c"
PARENT = "eee19b7ec3c1b173"
INTERNAL, SERVER, CLIENT = 1, 2, 3
OK, ERROR = 1, 2
AGENTOPS_RESOURCE: dict[str, AttrValue] = {
    "service.name": "agentops",
    "agentops.project.id": "temporary",
    "imported_libraries": ["agentops", "openai"],
}
APP_RESOURCE: dict[str, AttrValue] = {
    "service.name": "support-bot",
    "host.name": "worker-1",
    "os.type": "linux",
    "telemetry.sdk.language": "python",
    "deployment.environment": "prod",
}


def span(
    name: str,
    attrs: Mapping[str, AttrValue],
    *,
    kind: int = INTERNAL,
    scope: str = "agentops",
    resource: dict[str, AttrValue] | None = None,
    parent: str | None = PARENT,
    status: tuple[int, str] = (0, ""),
    events: Sequence[tuple[str, Mapping[str, AttrValue]]] = (),
) -> Span:
    return Span(
        trace_id=TRACE,
        span_id="0123456789abcdef",
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_ns=1,
        end_ns=2,
        status_code=status[0],
        status_message=status[1],
        attributes=dict(attrs),
        events=tuple(SpanEvent(n, 1, dict(a)) for n, a in events),
        resource=AGENTOPS_RESOURCE if resource is None else resource,
        scope_name=scope,
        scope_version="",
    )


def exception(kind: str, message: str) -> tuple[str, dict[str, AttrValue]]:
    return (
        "exception",
        {
            "exception.type": kind,
            "exception.message": message,
            "exception.stacktrace": f"Traceback (most recent call last):\n{kind}: {message}\n",
            "exception.escaped": "False",
        },
    )


# --- agentops 0.4.21 (§1.7, §1.8) ---

AGENTOPS_CHAT = span(
    "openai.chat.completion",
    {
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
        "gen_ai.prompt.1.content": "Weather in Paris?",
        "gen_ai.request.functions.0.name": "get_weather",
        "gen_ai.request.functions.0.description": "Current weather",
        "gen_ai.request.functions.0.parameters": '{"type": "object"}',
        "gen_ai.response.id": "chatcmpl-fake123",
        "gen_ai.openai.system_fingerprint": "fp_fake",
        "gen_ai.usage.prompt_tokens": 21,
        "gen_ai.usage.completion_tokens": 7,
        "gen_ai.usage.total_tokens": 28,
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.finish_reason": "tool_calls",
        "gen_ai.completion.0.tool_calls.0.id": "call_1",
        "gen_ai.completion.0.tool_calls.0.name": "get_weather",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Paris"}',
    },
    kind=CLIENT,
    scope="openai",
    status=(OK, ""),
)

AGENTOPS_TOOL_CALL = span(
    "tool_call.get_weather",
    {
        "tool.name": "get_weather",
        "tool.parameters": '{"city": "Paris"}',
        "tool.call.id": "call_1",
        "tool.call.type": "function",
    },
    scope="agentops.instrumentation.providers.openai.wrappers.chat",
    status=(OK, ""),
)

AGENTOPS_TOOL = span(
    "get_weather.tool",
    {
        "agentops.span.kind": "tool",
        "operation.name": "get_weather",
        "agentops.tool.input": json.dumps({"args": ["Paris"], "kwargs": {}}),
        "agentops.tool.output": json.dumps({"city": "Paris", "temp_c": 21}),
        "gen_ai.usage.total_cost": 0.01,
    },
)

AGENTOPS_FAILING_TOOL = span(
    "failing_tool.tool",
    {"agentops.span.kind": "tool", "operation.name": "failing_tool"},
    status=(ERROR, "RuntimeError: tool exploded"),
    # Recorded twice: by the decorator and by start_as_current_span.
    events=[exception("RuntimeError", "tool exploded"), exception("RuntimeError", "tool exploded")],
)

AGENTOPS_TASK = span(
    "named_task.task",
    {
        "agentops.span.kind": "task",
        "operation.name": "named_task",
        "operation.version": 2,
        "agentops.task.input": json.dumps({"args": ["climate"], "kwargs": {}}),
        "agentops.task.output": "6",
    },
)

AGENTOPS_AGENT = span(
    "simple_agent_fn.agent",
    {
        "agentops.span.kind": "agent",
        "operation.name": "simple_agent_fn",
        "agentops.agent.input": json.dumps({"args": [], "kwargs": {"q": "hi"}}),
        "agentops.agent.output": "done",
    },
)

# Legacy start_session() ended with end_session("Success", end_state_reason=..., custom_field=...),
# after update_trace_metadata({"tags": [...], "user_id": ...}), plus dict-tag style bare keys.
AGENTOPS_SESSION = span(
    "session.session",
    {
        "agentops.span.kind": "session",
        "operation.name": "session",
        "agentops.tags": '["meta-tag"]',
        "agentops.session.end_state": "Success",
        "agentops.legacy.end_state_reason": "all done",
        "agentops.legacy.custom_field": "abc",
        "trace.metadata.user_id": "u-42",
        "trace.metadata.custom": '{"plan": "pro"}',
        "team": "alpha",
        "env": "test",
        "host.machine": "x86_64",
        "host.name": "box",
        "host.system": "Linux",
        "cpu.count": 2,
        "cpu.percent": 1.9,
        "memory.total": 25276502016,
        "memory.percent": 41.5,
    },
    parent=None,
)

AGENTOPS_INIT_TRACE = span(
    "default.session",
    {
        "agentops.span.kind": "session",
        "operation.name": "default",
        "agentops.tags": ["a", "b"],
        "agentops.session.end_state": "Shutdown",
    },
    parent=None,
)

# --- GenAI semconv: opentelemetry-instrumentation-openai-v2 2.4b0 with content opt-in (§2) ---

OPENAI_V2_CHAT = span(
    "chat gpt-4o-mini",
    {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-v2",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "server.address": "127.0.0.1",
        "server.port": 8080,
        "openai.response.service_tier": "default",
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Say hi"}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": "Hi!"}],
                    "finish_reason": "stop",
                }
            ]
        ),
    },
    kind=CLIENT,
    scope="opentelemetry.util.genai.handler",
    resource=APP_RESOURCE,
    status=(OK, ""),
)

# --- OpenLLMetry 0.62.4 (§3.1, current: GenAI names, its own reasoning key) ---

OPENLLMETRY_062_CHAT = span(
    "openai.chat",
    {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": 30,
        "gen_ai.usage.output_tokens": 9,
        "gen_ai.usage.total_tokens": 39,
        "gen_ai.usage.cache_read.input_tokens": 4,
        "gen_ai.usage.reasoning_tokens": 3,
        "gen_ai.is_streaming": False,
        "gen_ai.response.finish_reasons": ["tool_call"],
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Weather?"}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [
                        {
                            "type": "tool_call",
                            "id": "call_9",
                            "name": "get_weather",
                            "arguments": {"city": "Paris"},
                        }
                    ],
                    "finish_reason": "tool_call",
                }
            ]
        ),
        "gen_ai.openai.api_base": "http://127.0.0.1:8080/v1/",
        "traceloop.association.properties.session_id": "conv-7",
        "traceloop.association.properties.user_id": "u-9",
    },
    kind=CLIENT,
    scope="opentelemetry.instrumentation.openai.v1",
    resource=APP_RESOURCE,
    status=(OK, ""),
)

# --- OpenLLMetry 0.45.6 (§3.1, legacy attributes) ---

OPENLLMETRY_045_CHAT = span(
    "openai.chat",
    {
        "llm.request.type": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "Weather in Paris?",
        "llm.request.functions.0.name": "get_weather",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.finish_reason": "tool_calls",
        "gen_ai.completion.0.tool_calls.0.id": "call_2",
        "gen_ai.completion.0.tool_calls.0.name": "get_weather",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Paris"}',
        "gen_ai.usage.prompt_tokens": 40,
        "gen_ai.usage.completion_tokens": 11,
        "llm.usage.total_tokens": 51,
        "gen_ai.usage.cache_read_input_tokens": 32,
        "llm.is_streaming": False,
        "llm.headers": "None",
    },
    kind=CLIENT,
    scope="opentelemetry.instrumentation.openai.v1",
    resource=APP_RESOURCE,
    status=(OK, ""),
)

# --- OpenInference: openinference-instrumentation-openai 0.1.66 (§3.2) ---

OPENINFERENCE_CHAT = span(
    "ChatCompletion",
    {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.provider": "openai",
        "llm.system": "openai",
        "llm.invocation_parameters": '{"model": "gpt-4o-mini"}',
        "input.value": '{"messages": [{"role": "user", "content": "Hi"}]}',
        "input.mime_type": "application/json",
        "output.value": '{"id": "chatcmpl-oi"}',
        "output.mime_type": "application/json",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "What is this?",
        "llm.input_messages.1.message.contents.1.message_content.type": "image",
        "llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://x/y.png",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_3",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
        "llm.token_count.prompt": 25,
        "llm.token_count.completion": 10,
        "llm.token_count.total": 35,
        "llm.token_count.prompt_details.cache_read": 5,
        "llm.token_count.completion_details.reasoning": 3,
        "llm.cost.prompt": 0.000004,
        "llm.cost.completion": 0.000006,
        "llm.cost.total": 0.00001,
        "session.id": "thread-1",
        "user.id": "u-1",
        "metadata": '{"experiment": "b"}',
        "tag.tags": ["beta", "support"],
    },
    scope="openinference.instrumentation.openai",
    resource=APP_RESOURCE,
    status=(OK, ""),
)

ALL = (
    AGENTOPS_CHAT,
    AGENTOPS_TOOL_CALL,
    AGENTOPS_TOOL,
    AGENTOPS_FAILING_TOOL,
    AGENTOPS_TASK,
    AGENTOPS_AGENT,
    AGENTOPS_SESSION,
    AGENTOPS_INIT_TRACE,
    OPENAI_V2_CHAT,
    OPENLLMETRY_062_CHAT,
    OPENLLMETRY_045_CHAT,
    OPENINFERENCE_CHAT,
)
