"""An LLM call's `completion` has one shape in the export, whichever protocol recorded it:
the message of a call's one choice (a list of messages for several, n > 1), its tool calls
in OpenAI's shape, `{"id", "type": "function", "function": {"name", "arguments"}}` with the
arguments as JSON text. The reference is what our SDK records (v2) of a fake OpenAI answer;
the same answer as each span convention carries it, and as openai-v2's log records carry
it, before or after its span, is stored alike. On both engines, in protobuf."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from agentops.integrations.openai import chat_message
from tests.server.conftest import LiveServer, llm
from tests.server.test_otlp_ingest import PROTOBUF, export, live, send
from tests.support.fake_providers import TEXT, chat_json
from tests.support.otlp import SpanSpec, key_values, new_trace_id

__all__ = ["live"]  # the fixture: SQLite and PostgreSQL

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
TOOL_ANSWER = chat_json({"model": "gpt-4o-mini", "messages": [], "tools": TOOLS})
TEXT_ANSWER = chat_json({"model": "gpt-4o-mini", "messages": []})
CALL = TOOL_ANSWER["choices"][0]["message"]["tool_calls"][0]
USAGE = {"gen_ai.usage.input_tokens": 21, "gen_ai.usage.output_tokens": 7}
APP = {"service.name": "support-bot"}


def sdk_completion(answer: dict[str, Any]) -> Any:
    """What our SDK records as the completion of this OpenAI answer."""
    return chat_message(ChatCompletion.model_validate(answer).choices[0].message)


def v2_export(live: LiveServer, completion: Any) -> dict[str, Any]:
    """The export's completion of a call our SDK (or agentops 0.3) sent with the v2 protocol."""
    session_id, jwt = live.start_session()
    assert live.send_events(jwt, [llm(completion=completion)]).status_code == 200
    res = live.get(f"/v2/sessions/{session_id}/export")
    (call,) = res.json()["llms"]
    completion_json: dict[str, Any] = call["completion"]
    return completion_json


def parts(finish_reason: str, *parts: dict[str, Any]) -> dict[str, Any]:
    """One output message in the GenAI parts schema, as openai-v2 writes it (the arguments
    of a tool call parsed from OpenAI's JSON text)."""
    return {"role": "assistant", "parts": list(parts), "finish_reason": finish_reason}


TOOL_PART = {"type": "tool_call", "id": CALL["id"], "name": CALL["function"]["name"],
             "arguments": json.loads(CALL["function"]["arguments"])}  # fmt: skip


def tool_call_spans(trace_id: str, root: str) -> dict[str, tuple[SpanSpec, dict[str, Any]]]:
    """The tool-call answer as each convention puts it on its chat span (span, resource)."""
    indexed = {
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.finish_reason": "tool_calls",
        "gen_ai.completion.0.tool_calls.0.id": CALL["id"],
        "gen_ai.completion.0.tool_calls.0.name": CALL["function"]["name"],
        "gen_ai.completion.0.tool_calls.0.arguments": CALL["function"]["arguments"],
    }
    oi = "llm.output_messages.0.message."
    attributes: dict[str, tuple[str, dict[str, Any], dict[str, Any] | None]] = {
        "agentops": ("openai", {"gen_ai.system": "OpenAI", "gen_ai.request.type": "chat",
                                "gen_ai.request.model": "gpt-4o-mini", **indexed}, None),
        "openllmetry": ("openllmetry", {"llm.request.type": "chat",
                                        "gen_ai.request.model": "gpt-4o-mini", **indexed}, APP),
        "genai": ("genai", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.output.messages": json.dumps([parts("tool_calls", TOOL_PART)])},
                  APP),
        "openinference": ("openinference", {
            "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
            oi + "role": "assistant",
            oi + "tool_calls.0.tool_call.id": CALL["id"],
            oi + "tool_calls.0.tool_call.function.name": CALL["function"]["name"],
            oi + "tool_calls.0.tool_call.function.arguments": CALL["function"]["arguments"],
        }, APP),
    }  # fmt: skip
    return {
        name: (
            SpanSpec("chat gpt-4o-mini", trace_id, parent=root, kind=3, scope=scope,
                     attributes={**attrs, **USAGE}),
            resource or {},
        )
        for name, (scope, attrs, resource) in attributes.items()
    }  # fmt: skip


def otlp_export(live: LiveServer, trace_id: str) -> Any:
    (call,) = export(live, trace_id)["llms"]
    return call["completion"]


def assert_same_shape(stored: Any, reference: dict[str, Any]) -> None:
    """One chatml message, as the v2 reference; its tool calls exactly the reference's."""
    assert stored["type"] == reference["type"] == "chatml"
    message, expected = stored["messages"], reference["messages"]
    assert isinstance(message, dict) and isinstance(expected, dict), stored
    assert message["role"] == expected["role"] == "assistant"
    assert message.get("tool_calls") == expected.get("tool_calls"), stored
    assert message.get("content") == expected.get("content"), stored


@pytest.mark.parametrize("convention", ["agentops", "openllmetry", "genai", "openinference"])
def test_a_tool_call_on_a_span_is_stored_as_the_sdk_stores_it(
    live: LiveServer, convention: str
) -> None:
    reference = v2_export(live, sdk_completion(TOOL_ANSWER))
    assert reference["messages"]["tool_calls"] == [CALL]  # OpenAI's own shape
    trace_id = new_trace_id()
    root = SpanSpec("main", trace_id, scope="app")
    chat, resource = tool_call_spans(trace_id, root.span_id)[convention]
    assert send(live, [chat, root], resource=resource or None).status_code == 200
    assert_same_shape(otlp_export(live, trace_id), reference)


def log_request(trace_id: str, span_id: str, event: str, **fields: Any) -> bytes:
    """One GenAI log record of the call, as openai-v2 sends it: the details event's
    attributes, or a deprecated event's body."""
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.trace_id, record.span_id = bytes.fromhex(trace_id), bytes.fromhex(span_id)
    record.event_name = event
    if "attributes" in fields:
        record.attributes.extend(key_values(fields["attributes"]))
    if "body" in fields:
        record.body.kvlist_value.values.extend(key_values(fields["body"]))
    return request.SerializeToString()


def post_logs(live: LiveServer, body: bytes) -> None:
    headers = {**PROTOBUF, "X-Agentops-Api-Key": live.api_key}
    res = live.client.post(live.url + "/v1/logs", content=body, headers=headers)
    assert res.status_code == 200, res.text


def chat_without_content(trace_id: str) -> tuple[SpanSpec, SpanSpec]:
    root = SpanSpec("main", trace_id, scope="app")
    chat = SpanSpec("chat gpt-4o-mini", trace_id, parent=root.span_id, kind=3, scope="genai",
                    attributes={"gen_ai.operation.name": "chat",
                                "gen_ai.request.model": "gpt-4o-mini", **USAGE})  # fmt: skip
    return chat, root


def details(answer: dict[str, Any]) -> dict[str, Any]:
    """openai-v2's details event of the answer (gen_ai_latest_experimental, event_only)."""
    message = answer["choices"][0]["message"]
    found = [TOOL_PART] if message.get("tool_calls") else [{"type": "text", "content": TEXT}]
    output = [parts(answer["choices"][0]["finish_reason"], *found)]
    input_ = [{"role": "user", "parts": [{"type": "text", "content": "Say hi"}]}]
    return {"attributes": {"gen_ai.input.messages": json.dumps(input_),
                           "gen_ai.output.messages": json.dumps(output)}}  # fmt: skip


def choice(answer: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """openai-v2's deprecated gen_ai.choice event of the answer's choice (default mode)."""
    message = answer["choices"][0]["message"]
    body_message: dict[str, Any] = {"role": "assistant"}
    if message.get("tool_calls"):
        body_message["tool_calls"] = message["tool_calls"]
    else:
        body_message["content"] = message["content"]
    return {"body": {"index": index, "finish_reason": "stop", "message": body_message}}


@pytest.mark.parametrize("logs_first", [True, False])
@pytest.mark.parametrize("event", ["gen_ai.client.inference.operation.details", "gen_ai.choice"])
@pytest.mark.parametrize("answer", ["text", "tool_call"])
def test_a_completion_from_log_records_is_stored_as_the_sdk_stores_it(
    live: LiveServer, logs_first: bool, event: str, answer: str
) -> None:
    response = TEXT_ANSWER if answer == "text" else TOOL_ANSWER
    reference = v2_export(live, sdk_completion(response))
    trace_id = new_trace_id()
    chat, root = chat_without_content(trace_id)
    fields = details(response) if event.endswith("details") else choice(response)
    body = log_request(trace_id, chat.span_id, event, **fields)
    if logs_first:
        post_logs(live, body)
    assert send(live, [chat, root], resource=APP).status_code == 200
    if not logs_first:
        post_logs(live, body)
    assert_same_shape(otlp_export(live, trace_id), reference)


def test_several_choices_are_a_list_of_messages_on_spans_and_from_log_records(
    live: LiveServer,
) -> None:
    """n=2: the span's output messages, or one gen_ai.choice record per choice (here in two
    requests, as a log batch may split them: one message after the first, both after the
    second)."""
    trace_id = new_trace_id()
    chat, root = chat_without_content(trace_id)
    two = [parts("stop", {"type": "text", "content": t}) for t in ("one", "two")]
    chat.attributes = {**chat.attributes, "gen_ai.output.messages": json.dumps(two)}
    assert send(live, [chat, root], resource=APP).status_code == 200
    assert otlp_export(live, trace_id) == {"type": "chatml", "messages": [
        {"role": "assistant", "finish_reason": "stop", "content": "one"},
        {"role": "assistant", "finish_reason": "stop", "content": "two"},
    ]}  # fmt: skip

    trace_id = new_trace_id()
    chat, root = chat_without_content(trace_id)
    assert send(live, [chat, root], resource=APP).status_code == 200
    for index, text in enumerate(("one", "two")):
        message = {"role": "assistant", "content": text}
        body = {"index": index, "finish_reason": "stop", "message": message}
        post_logs(live, log_request(trace_id, chat.span_id, "gen_ai.choice", body=body))
        if index == 0:
            assert otlp_export(live, trace_id)["messages"] == message
    assert otlp_export(live, trace_id)["messages"] == [
        {"role": "assistant", "content": "one"},
        {"role": "assistant", "content": "two"},
    ]
