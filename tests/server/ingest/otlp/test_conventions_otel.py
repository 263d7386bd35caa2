"""Spans no GenAI convention claims, and attribute values no convention expects."""

from __future__ import annotations

import pytest

from agentops_server.ingest.otlp.conventions import ErrorFacts, read_span
from agentops_server.ingest.otlp.spans import AttrValue, Span
from tests.server.ingest.otlp import samples
from tests.server.ingest.otlp.samples import span


def test_a_plain_span_is_an_action_named_like_the_span_with_its_error() -> None:
    http = span(
        "GET /weather",
        {"http.request.method": "GET"},
        kind=samples.SERVER,
        scope="opentelemetry.instrumentation.fastapi",
        resource=samples.APP_RESOURCE,
        status=(samples.ERROR, ""),
        events=[samples.exception("ValueError", "bad city")],
    )
    facts = read_span(http)
    assert (facts.kind, facts.name, facts.convention) == ("action", "GET /weather", "otel")
    assert facts.error == ErrorFacts(
        "ValueError", "bad city", "Traceback (most recent call last):\nValueError: bad city\n"
    )


def test_an_error_status_alone_still_gives_an_error() -> None:
    bare = span("job", {}, resource=samples.APP_RESOURCE, status=(samples.ERROR, "RuntimeError: x"))
    assert read_span(bare).error == ErrorFacts("RuntimeError", "x", None)
    no_message = span("job", {}, resource=samples.APP_RESOURCE, status=(samples.ERROR, ""))
    assert read_span(no_message).error == ErrorFacts("Error", "", None)


def test_ok_and_unset_spans_have_no_error_even_with_exception_events() -> None:
    handled = span(
        "job",
        {},
        resource=samples.APP_RESOURCE,
        events=[samples.exception("KeyError", "k")],
    )
    assert read_span(handled).error is None


@pytest.mark.parametrize("value", [-1, 2.5, "21", True, None, [21], {"n": 21}])
def test_a_token_count_that_is_not_a_non_negative_int_is_unknown(value: AttrValue) -> None:
    attrs = dict(samples.OPENAI_V2_CHAT.attributes, **{"gen_ai.usage.input_tokens": value})
    facts = read_span(with_attributes(samples.OPENAI_V2_CHAT, attrs))
    assert facts.input_tokens is None
    assert facts.output_tokens == 5  # the rest of the span is still read


def test_a_bad_first_token_key_falls_back_to_the_next_one() -> None:
    attrs: dict[str, AttrValue] = {
        "gen_ai.usage.input_tokens": "12",
        "gen_ai.usage.prompt_tokens": 12,
    }
    chat = span(
        "chat", {"gen_ai.operation.name": "chat", **attrs}, scope="x", resource=samples.APP_RESOURCE
    )
    facts = read_span(chat)
    assert facts.input_tokens == 12


ODD_VALUES: tuple[AttrValue, ...] = (
    None,
    "",
    "not json {",
    "[1, 2",
    -3,
    1.5,
    float("nan"),
    True,
    [],
    ["a", 1, None, {"k": [2]}],
    {},
    {"k": {"j": [None]}},
    '{"a": 1}',
    '[1, "x", {"parts": "no"}, {"parts": [1, {"type": 5, "content": 3}]}]',
    [{"parts": [None, {"type": "tool_call"}, {"type": "tool_call_response"}]}, "m"],
)


@pytest.mark.parametrize("sample", samples.ALL, ids=lambda s: s.name)
def test_reading_never_raises_whatever_type_an_attribute_has(sample: Span) -> None:
    for key in sample.attributes:
        for odd in ODD_VALUES:
            facts = read_span(with_attributes(sample, {**sample.attributes, key: odd}))
            assert facts.kind in ("session", "llm", "tool", "agent", "action")
            assert isinstance(facts.name, str)


def with_attributes(sample: Span, attrs: dict[str, AttrValue]) -> Span:
    return Span(
        sample.trace_id,
        sample.span_id,
        sample.parent_span_id,
        sample.name,
        sample.kind,
        sample.start_ns,
        sample.end_ns,
        sample.status_code,
        sample.status_message,
        attrs,
        sample.events,
        sample.resource,
        sample.scope_name,
        sample.scope_version,
    )
