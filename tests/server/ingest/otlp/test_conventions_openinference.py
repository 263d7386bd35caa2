"""OpenInference (Phoenix) spans: kinds, messages with tool calls and parts, token details, cost."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from agentops_server.ingest.otlp.conventions import read_span
from agentops_server.ingest.otlp.spans import AttrValue, Span
from tests.server.ingest.otlp import samples
from tests.server.ingest.otlp.samples import span


def oi(kind: str, attrs: Mapping[str, AttrValue] | None = None) -> Span:
    return span(
        "step",
        {"openinference.span.kind": kind, **(attrs or {})},
        scope="openinference.instrumentation.x",
        resource=samples.APP_RESOURCE,
    )


def test_an_llm_span_has_messages_with_parts_and_tool_calls() -> None:
    facts = read_span(samples.OPENINFERENCE_CHAT)
    assert (facts.kind, facts.convention, facts.name) == (
        "llm",
        "openinference",
        "gpt-4o-mini-2024-07-18",
    )
    assert facts.provider == "openai"
    assert facts.prompt == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": "What is this?",
            "parts": [{"type": "image", "url": "https://x/y.png"}],
        },
    ]
    assert facts.completion == {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_3",
                "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"},
            }
        ],
    }


def test_token_details_are_reported_apart_from_the_totals() -> None:
    facts = read_span(samples.OPENINFERENCE_CHAT)
    assert (facts.input_tokens, facts.output_tokens) == (25, 10)
    assert (facts.cache_read_tokens, facts.reasoning_tokens) == (5, 3)


def test_the_reported_total_cost_is_kept_exactly() -> None:
    assert read_span(samples.OPENINFERENCE_CHAT).reported_cost == Decimal("0.00001")


def test_cost_parts_without_a_total_are_added_up() -> None:
    facts = read_span(oi("LLM", {"llm.cost.prompt": 0.25, "llm.cost.completion": 0.5}))
    assert facts.reported_cost == Decimal("0.75")


def test_session_user_metadata_and_tags_are_kept() -> None:
    facts = read_span(samples.OPENINFERENCE_CHAT)
    assert facts.conversation_id == "thread-1"
    assert facts.metadata == {"experiment": "b", "user_id": "u-1"}
    assert facts.tags == ("beta", "support")


def test_without_message_attributes_the_input_and_output_values_are_used() -> None:
    attrs = {
        "llm.model_name": "m",
        "input.value": "plain prompt",
        "output.value": '{"answer": 42}',
        "output.mime_type": "application/json",
    }
    facts = read_span(oi("LLM", attrs))
    assert (facts.prompt, facts.completion) == ("plain prompt", {"answer": 42})


def test_embedding_spans_are_llm_calls_named_by_the_embedding_model() -> None:
    facts = read_span(oi("EMBEDDING", {"embedding.model_name": "text-embedding-3-small"}))
    assert (facts.kind, facts.name) == ("llm", "text-embedding-3-small")


def test_tools_and_agents_are_named_and_keep_input_output() -> None:
    tool = read_span(oi("TOOL", {"tool.name": "search", "input.value": "q", "output.value": "r"}))
    assert (tool.kind, tool.name, tool.params, tool.returns) == ("tool", "search", "q", "r")
    agent = read_span(oi("AGENT", {"agent.name": "planner"}))
    assert (agent.kind, agent.name, agent.agent_name) == ("agent", "planner", "planner")


@pytest.mark.parametrize("kind", ["CHAIN", "RETRIEVER", "RERANKER", "GUARDRAIL", "EVALUATOR", "X"])
def test_other_kinds_are_actions_named_like_the_span(kind: str) -> None:
    facts = read_span(oi(kind, {"llm.token_count.prompt": 100}))
    assert (facts.kind, facts.name, facts.input_tokens) == ("action", "step", None)


def test_openinference_wins_over_genai_attributes_on_the_same_span() -> None:
    facts = read_span(oi("TOOL", {"gen_ai.operation.name": "chat"}))
    assert (facts.kind, facts.convention) == ("tool", "openinference")


def test_a_reported_cost_of_zero_is_zero_not_unknown() -> None:
    facts = read_span(oi("LLM", {"llm.cost.prompt": 0, "llm.cost.completion": 0.0}))
    assert facts.reported_cost == Decimal(0)
