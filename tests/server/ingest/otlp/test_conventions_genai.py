"""GenAI semantic-convention spans (openai-v2, OpenLLMetry >= 0.5x) read by operation name."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from agentops_server.ingest.otlp.conventions import ErrorFacts, read_span
from agentops_server.ingest.otlp.spans import AttrValue, Span
from tests.server.ingest.otlp import samples
from tests.server.ingest.otlp.samples import span


def genai(
    operation: str,
    attrs: Mapping[str, AttrValue] | None = None,
    *,
    parent: str | None = samples.PARENT,
    status: tuple[int, str] = (0, ""),
) -> Span:
    return span(
        f"{operation} x",
        {"gen_ai.operation.name": operation, **(attrs or {})},
        scope="app",
        resource=samples.APP_RESOURCE,
        parent=parent,
        status=status,
    )


def test_an_openai_v2_chat_has_messages_from_the_parts_schema() -> None:
    facts = read_span(samples.OPENAI_V2_CHAT)
    assert (facts.kind, facts.convention, facts.name) == ("llm", "genai", "gpt-4o-mini-2024-07-18")
    assert (facts.provider, facts.response_id) == ("openai", "chatcmpl-v2")
    assert (facts.input_tokens, facts.output_tokens) == (12, 5)
    assert facts.prompt == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi"},
    ]
    assert facts.completion == {"role": "assistant", "finish_reason": "stop", "content": "Hi!"}


def test_openllmetry_062_tokens_never_add_cached_or_reasoning_to_the_totals() -> None:
    facts = read_span(samples.OPENLLMETRY_062_CHAT)
    assert (facts.kind, facts.convention) == ("llm", "genai")
    assert (facts.input_tokens, facts.output_tokens) == (30, 9)
    assert (facts.cache_read_tokens, facts.reasoning_tokens) == (4, 3)
    assert facts.completion == {
        "role": "assistant",
        "finish_reason": "tool_call",
        "tool_calls": [  # the parts schema's arguments object as JSON text, as OpenAI gives it
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }


def test_openllmetry_association_properties_become_metadata_and_conversation() -> None:
    facts = read_span(samples.OPENLLMETRY_062_CHAT)
    assert facts.metadata == {"session_id": "conv-7", "user_id": "u-9"}
    assert facts.conversation_id == "conv-7"


def test_the_conversation_id_attribute_wins() -> None:
    facts = read_span(genai("chat", {"gen_ai.conversation.id": "thread-42", "session.id": "s"}))
    assert facts.conversation_id == "thread-42"


def test_structured_messages_and_tool_results_are_read_too() -> None:
    messages: list[AttrValue] = [
        {
            "role": "user",
            "parts": [{"type": "text", "content": "a"}, {"type": "text", "content": "b"}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "21C"}]},
        {"role": "user", "parts": [{"type": "uri", "uri": "https://x/y.png", "modality": "image"}]},
    ]
    facts = read_span(genai("chat", {"gen_ai.input.messages": messages}))
    assert facts.prompt == [
        {"role": "user", "content": "a\nb"},
        {"role": "tool", "tool_call_id": "c1", "content": "21C"},
        {"role": "user", "parts": [{"type": "uri", "uri": "https://x/y.png", "modality": "image"}]},
    ]


def test_messages_that_are_not_json_are_kept_as_sent() -> None:
    facts = read_span(genai("chat", {"gen_ai.input.messages": "hello there"}))
    assert facts.prompt == "hello there"


def test_embeddings_are_llm_calls_with_input_tokens_only() -> None:
    facts = read_span(
        genai(
            "embeddings",
            {"gen_ai.request.model": "text-embedding-3-small", "gen_ai.usage.input_tokens": 8},
        )
    )
    assert (facts.kind, facts.name, facts.input_tokens, facts.output_tokens) == (
        "llm",
        "text-embedding-3-small",
        8,
        None,
    )


def test_execute_tool_is_a_tool_with_arguments_and_result() -> None:
    attrs = {
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.call.arguments": json.dumps({"city": "Paris"}),
        "gen_ai.tool.call.result": "sunny",
    }
    facts = read_span(genai("execute_tool", attrs))
    assert (facts.kind, facts.name, facts.params, facts.returns) == (
        "tool",
        "get_weather",
        {"city": "Paris"},
        "sunny",
    )


@pytest.mark.parametrize("operation", ["invoke_agent", "create_agent"])
def test_agent_spans_do_not_report_the_agents_aggregate_usage(operation: str) -> None:
    attrs: dict[str, AttrValue] = {"gen_ai.agent.name": "planner", "gen_ai.usage.input_tokens": 500}
    facts = read_span(genai(operation, attrs))
    assert (facts.kind, facts.name, facts.agent_name) == ("agent", "planner", "planner")
    assert facts.input_tokens is None  # counted on its LLM children instead


def test_workflows_and_other_operations_are_actions() -> None:
    workflow = read_span(genai("invoke_workflow", {"gen_ai.workflow.name": "triage"}))
    assert (workflow.kind, workflow.name) == ("action", "triage")
    retrieval = read_span(genai("retrieval"))
    assert (retrieval.kind, retrieval.name) == ("action", "retrieval x")


def test_a_failed_call_reports_error_type_and_status_message() -> None:
    failed = genai(
        "chat", {"error.type": "NotFoundError"}, status=(samples.ERROR, "Error code: 404")
    )
    assert read_span(failed).error == ErrorFacts("NotFoundError", "Error code: 404", None)


def test_a_root_span_carries_the_resource_host_environment() -> None:
    root = read_span(genai("invoke_agent", parent=None))
    assert root.host_env == {
        "service.name": "support-bot",
        "host.name": "worker-1",
        "os.type": "linux",
        "telemetry.sdk.language": "python",
    }
    assert read_span(genai("invoke_agent")).host_env is None  # only roots describe the run
