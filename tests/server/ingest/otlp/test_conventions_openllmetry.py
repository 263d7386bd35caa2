"""OpenLLMetry before 0.5x: llm.request.type, traceloop entities, gen_ai.prompt.{i}.* messages."""

from __future__ import annotations

import json

import pytest

from agentops_server.ingest.otlp.conventions import read_span
from tests.server.ingest.otlp import samples
from tests.server.ingest.otlp.samples import span


def test_a_legacy_chat_span_has_indexed_messages_and_tool_calls() -> None:
    facts = read_span(samples.OPENLLMETRY_045_CHAT)
    assert (facts.kind, facts.convention, facts.name) == (
        "llm",
        "openllmetry",
        "gpt-4o-mini-2024-07-18",
    )
    assert facts.provider == "openai"
    assert facts.prompt == [{"role": "user", "content": "Weather in Paris?"}]
    assert facts.completion == {
        "role": "assistant",
        "finish_reason": "tool_calls",
        "tool_calls": [
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }


def test_cached_tokens_are_not_added_to_input_tokens() -> None:
    facts = read_span(samples.OPENLLMETRY_045_CHAT)
    assert (facts.input_tokens, facts.output_tokens, facts.cache_read_tokens) == (40, 11, 32)


def test_messages_are_ordered_by_index_not_by_arrival() -> None:
    attrs = {
        "llm.request.type": "chat",
        "gen_ai.prompt.10.content": "eleventh",
        "gen_ai.prompt.2.content": "third",
        "gen_ai.prompt.0.content": "first",
    }
    facts = read_span(span("openai.chat", attrs, scope="x", resource=samples.APP_RESOURCE))
    assert facts.prompt == [{"content": "first"}, {"content": "third"}, {"content": "eleventh"}]


@pytest.mark.parametrize(
    ("entity", "kind"),
    [("tool", "tool"), ("agent", "agent"), ("task", "action"), ("workflow", "action")],
)
def test_traceloop_entities_have_name_input_and_output(entity: str, kind: str) -> None:
    attrs = {
        "traceloop.span.kind": entity,
        "traceloop.entity.name": "lookup",
        "traceloop.entity.input": json.dumps({"args": [1], "kwargs": {}}),
        "traceloop.entity.output": json.dumps("ok"),
        "traceloop.association.properties.team": "alpha",
    }
    facts = read_span(span(f"lookup.{entity}", attrs, scope="x", resource=samples.APP_RESOURCE))
    assert (facts.kind, facts.name, facts.convention) == (kind, "lookup", "openllmetry")
    assert (facts.params, facts.returns) == ({"args": [1], "kwargs": {}}, "ok")
    assert facts.agent_name == ("lookup" if kind == "agent" else None)
    assert facts.metadata == {"team": "alpha"}


def test_a_span_with_only_an_indexed_prompt_is_an_llm_call() -> None:
    attrs = {"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hi"}
    facts = read_span(span("anthropic.chat", attrs, scope="x", resource=samples.APP_RESOURCE))
    assert (facts.kind, facts.convention, facts.prompt) == (
        "llm",
        "openllmetry",
        [{"role": "user", "content": "hi"}],
    )
