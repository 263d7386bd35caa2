"""agentops 0.4 spans read as sessions, LLM calls, tools, agents and actions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agentops_server.ingest.otlp.conventions import ErrorFacts, read_span
from agentops_server.ingest.otlp.spans import AttrValue
from tests.server.ingest.otlp import samples
from tests.server.ingest.otlp.samples import span


def test_an_openai_chat_span_is_an_llm_call_with_messages_and_usage() -> None:
    facts = read_span(samples.AGENTOPS_CHAT)
    assert (facts.kind, facts.convention) == ("llm", "agentops")
    assert facts.name == facts.model == "gpt-4o-mini-2024-07-18"  # the response model wins
    assert (facts.provider, facts.response_id) == ("openai", "chatcmpl-fake123")
    assert (facts.input_tokens, facts.output_tokens) == (21, 7)
    assert facts.cache_read_tokens is None and facts.reasoning_tokens is None
    assert facts.reported_cost is None
    assert facts.prompt == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    assert facts.completion == {  # one choice: one message; tool calls in OpenAI's shape
        "role": "assistant",
        "finish_reason": "tool_calls",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert facts.error is None


def test_a_tool_call_requested_by_the_model_is_an_action_not_a_tool_execution() -> None:
    facts = read_span(samples.AGENTOPS_TOOL_CALL)
    assert (facts.kind, facts.name) == ("action", "tool_call.get_weather")
    assert facts.params == {"city": "Paris"}
    assert facts.metadata == {"tool_call_id": "call_1"}


def test_a_decorated_tool_has_parsed_input_output_and_its_cost() -> None:
    facts = read_span(samples.AGENTOPS_TOOL)
    assert (facts.kind, facts.name, facts.convention) == ("tool", "get_weather", "agentops")
    assert facts.params == {"args": ["Paris"], "kwargs": {}}
    assert facts.returns == {"city": "Paris", "temp_c": 21}
    assert facts.reported_cost == Decimal("0.01")
    assert facts.input_tokens is None


def test_an_exception_recorded_twice_is_one_error_with_its_stacktrace() -> None:
    facts = read_span(samples.AGENTOPS_FAILING_TOOL)
    assert facts.error == ErrorFacts(
        type="RuntimeError",
        message="tool exploded",
        stacktrace="Traceback (most recent call last):\nRuntimeError: tool exploded\n",
    )


def test_a_failed_llm_call_without_exception_event_reads_the_status() -> None:
    failed = span(
        "openai.embeddings",
        {},
        kind=samples.CLIENT,
        scope="openai",
        status=(samples.ERROR, "NotFoundError: Error code: 404"),
    )
    facts = read_span(failed)
    assert (facts.kind, facts.name) == ("llm", "openai.embeddings")  # no model: the span name
    assert facts.error == ErrorFacts("NotFoundError", "Error code: 404", None)


def test_a_task_is_an_action_and_its_output_json_is_parsed() -> None:
    facts = read_span(samples.AGENTOPS_TASK)
    assert (facts.kind, facts.name) == ("action", "named_task")
    assert facts.params == {"args": ["climate"], "kwargs": {}}
    assert facts.returns == 6  # agentops.task.output = "6" is JSON


def test_an_agent_is_named_by_its_operation() -> None:
    facts = read_span(samples.AGENTOPS_AGENT)
    assert (facts.kind, facts.name, facts.agent_name) == (
        "agent",
        "simple_agent_fn",
        "simple_agent_fn",
    )
    assert facts.params == {"args": [], "kwargs": {"q": "hi"}}
    assert facts.returns == "done"  # not JSON: kept as the string


@pytest.mark.parametrize("declared", ["workflow", "guardrail", "http", "operation", "unknown"])
def test_other_sdk_kinds_are_actions(declared: str) -> None:
    facts = read_span(span(f"step.{declared}", {"agentops.span.kind": declared}))
    assert (facts.kind, facts.name) == ("action", "step")


def test_an_embedding_call_has_only_input_tokens() -> None:
    embedding = span(
        "openai.embeddings",
        {
            "gen_ai.request.type": "embedding",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.prompt.0.content": "x",
            "gen_ai.usage.prompt_tokens": 1,
            "gen_ai.usage.total_tokens": 1,
        },
        kind=samples.CLIENT,
        scope="openai",
    )
    facts = read_span(embedding)
    assert (facts.kind, facts.model, facts.input_tokens, facts.output_tokens) == (
        "llm",
        "text-embedding-3-small",
        1,
        None,
    )
    assert facts.prompt == [{"content": "x"}]


def test_a_legacy_session_reads_end_state_reason_tags_metadata_and_host() -> None:
    facts = read_span(samples.AGENTOPS_SESSION)
    assert (facts.kind, facts.name, facts.convention) == ("session", "session", "agentops")
    assert (facts.end_state, facts.end_reason) == ("Success", "all done")
    assert facts.tags == ("meta-tag", "team:alpha", "env:test")  # JSON-string tags + dict tags
    assert facts.metadata == {"custom_field": "abc", "user_id": "u-42", "custom": {"plan": "pro"}}
    assert facts.host_env == {
        "host.machine": "x86_64",
        "host.name": "box",
        "host.system": "Linux",
        "cpu.count": 2,
        "cpu.percent": 1.9,
        "memory.total": 25276502016,
        "memory.percent": 41.5,
    }


def test_the_init_trace_ended_at_exit_is_indeterminate_by_process_exit() -> None:
    facts = read_span(samples.AGENTOPS_INIT_TRACE)
    assert (facts.name, facts.end_state, facts.end_reason) == (
        "default",
        "Indeterminate",
        "process exit",
    )
    assert facts.tags == ("a", "b")  # an array, as init(default_tags=...) sends it
    assert facts.host_env is None  # only `session.session` carries host data


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Success", "Success"),
        ("Fail", "Fail"),
        ("Failure", "Fail"),
        ("Error", "Fail"),
        ("ERROR", "Fail"),
        ("Indeterminate", "Indeterminate"),
        ("Unknown", "Indeterminate"),
        ("Reinitialized", "Indeterminate"),
        ("whatever the user passed", "Indeterminate"),
    ],
)
def test_end_states_map_to_three_values(raw: str, state: str) -> None:
    session = span(
        "x.session", {"agentops.span.kind": "session", "agentops.session.end_state": raw}
    )
    assert read_span(session).end_state == state


def test_a_session_ended_with_an_enum_has_no_end_state_for_the_assembler_to_decide() -> None:
    # end_trace(ctx) with the default TraceState.SUCCESS: the SDK drops the enum value.
    facts = read_span(
        span("dict_tag_trace.session", {"agentops.span.kind": "session"}, parent=None)
    )
    assert (facts.kind, facts.name, facts.end_state, facts.end_reason) == (
        "session",
        "dict_tag_trace",
        None,
        None,
    )
    assert facts.error is None


def test_llm_spans_are_recognised_by_the_agentops_resource_not_as_openllmetry() -> None:
    # Same gen_ai.prompt.N shape as legacy OpenLLMetry, but from the agentops SDK.
    assert read_span(samples.AGENTOPS_CHAT).convention == "agentops"
    other_resource = span("x", {"agentops.span.kind": "task"}, resource=samples.APP_RESOURCE)
    assert read_span(other_resource).convention == "agentops"


def test_other_instrumentations_in_an_agentops_process_keep_their_convention() -> None:
    # Same resource (agentops sets the global provider), but written by openai-v2.
    attrs: dict[str, AttrValue] = {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 3}
    chat = span("chat gpt-4o", attrs, scope="opentelemetry.util.genai.handler")
    assert (read_span(chat).kind, read_span(chat).convention) == ("llm", "genai")
    http = span("GET /", {"http.request.method": "GET"}, kind=samples.SERVER, scope="fastapi")
    assert (read_span(http).kind, read_span(http).convention) == ("action", "otel")
