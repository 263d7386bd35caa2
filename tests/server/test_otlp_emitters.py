"""What real GenAI instrumentations send over OTLP, as they send it: openai-v2 (content in log
records, error.type as a Python class), OpenInference (exception events, embeddings), several
instrumentations around one call, and clocks that disagree; on both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.server.conftest import LiveServer
from tests.server.test_otlp_ingest import PROTOBUF, export, live, messages, send
from tests.support.otlp import (
    T0_NS,
    SpanSpec,
    agentops_llm_span,
    agentops_session_span,
    key_values,
    new_trace_id,
    session_of,
)

__all__ = ["live"]  # the fixture: SQLite and PostgreSQL


@pytest.mark.parametrize("inner_first", [True, False], ids=["inner first", "outer first"])
def test_one_failed_call_seen_by_two_instrumentations_is_one_call_and_one_error(
    live: LiveServer, inner_first: bool
) -> None:
    """openai-v2 (outer, error.type as str(type(exc))) around OpenInference (inner, an
    exception event) on a call the provider answered 500: no tokens, no response id, but
    the same exception."""
    trace_id = new_trace_id()
    root = SpanSpec("main", trace_id, scope="app")
    message = "Error code: 500 - {'error': {'message': 'boom'}}"
    outer = SpanSpec("chat gpt-4o-mini", trace_id, parent=root.span_id, kind=3, status=2,
        status_message=message, scope="openai-v2", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "error.type": "<class 'openai.InternalServerError'>"})  # fmt: skip
    inner = SpanSpec("ChatCompletion", trace_id, parent=outer.span_id, kind=1, status=2,
        status_message=f"InternalServerError: {message}", scope="openinference", attributes={
            "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai"},
        events=[("exception", {"exception.type": "openai.InternalServerError",
                               "exception.message": message})])  # fmt: skip
    batches = [[inner], [outer, root]] if inner_first else [[outer], [inner, root]]
    for batch in batches:
        assert send(live, batch).status_code == 200
    body = export(live, trace_id)
    # the span that came first keeps the call (as with tokens), the other is an action
    (llm,) = body["llms"]
    assert llm["id"] == (inner if inner_first else outer).span_id
    assert [(e["error_type"], e["trigger_event_id"]) for e in body["errors"]] == [
        ("openai.InternalServerError", llm["id"])
    ]
    assert body["stats"]["event_counts"]["llms"] == 1


@pytest.mark.parametrize("root_first", [True, False], ids=["root first", "root last"])
def test_the_session_starts_when_its_root_does(live: LiveServer, root_first: bool) -> None:
    """docs/otel.md: the root gives the start (the earliest span's only until it arrives). A
    child whose clock is an hour behind, or that says it started in 1970, changes nothing."""
    trace_id = new_trace_id()
    root = SpanSpec("main", trace_id, scope="app")
    skewed = SpanSpec("step", trace_id, parent=root.span_id, start_ms=-3_600_000, scope="app")
    zero = SpanSpec("zero", trace_id, parent=root.span_id, start_ms=-T0_NS / 1e6, scope="app")
    batches = [[root], [skewed], [zero]] if root_first else [[skewed], [zero], [root]]
    for batch in batches:
        assert send(live, batch).status_code == 200
    session = export(live, trace_id)["session"]
    started = datetime.fromtimestamp(T0_NS / 1e9, UTC)
    assert datetime.fromisoformat(session["init_timestamp"]) == started


def log_request(trace_id: str, span_id: str, prompt: str, answer: str = "hello") -> bytes:
    """openai-v2's log record of one call's content (OTEL_..._CAPTURE_MESSAGE_CONTENT)."""
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.trace_id, record.span_id = bytes.fromhex(trace_id), bytes.fromhex(span_id)
    record.event_name = "gen_ai.client.inference.operation.details"
    record.attributes.extend(key_values({
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "be brief"}]),
        "gen_ai.input.messages": messages("user", prompt),
        "gen_ai.output.messages": messages("assistant", answer),
    }))  # fmt: skip
    return request.SerializeToString()


def found_by(live: LiveServer, word: str) -> list[str]:
    return [s["id"] for s in live.get("/v2/sessions", params={"text": word}).json()["data"]]


def test_genai_log_records_join_their_span(live: LiveServer) -> None:
    """openai-v2 puts prompts and completions in /v1/logs, before or after the span."""
    headers = {**PROTOBUF, "X-Agentops-Api-Key": live.api_key}
    for logs_first in (True, False):
        word = "quokkafirst" if logs_first else "quokkaafter"
        trace_id = new_trace_id()
        chat = SpanSpec("chat gpt-4o-mini", trace_id, kind=3, scope="genai", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 21, "gen_ai.usage.output_tokens": 7})  # fmt: skip
        root = SpanSpec("main", trace_id, scope="app")
        chat.parent = root.span_id
        logs = log_request(trace_id, chat.span_id, f"hi {word}")
        if logs_first:
            assert (
                live.client.post(live.url + "/v1/logs", content=logs, headers=headers).status_code
                == 200
            )
        assert send(live, [chat, root]).status_code == 200
        if not logs_first:
            assert (
                live.client.post(live.url + "/v1/logs", content=logs, headers=headers).status_code
                == 200
            )
        (llm,) = export(live, trace_id)["llms"]
        # the same messages as when a span carries them (the dashboard reads "content")
        assert llm["prompt"]["messages"] == [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": f"hi {word}"},
        ]
        assert llm["completion"]["messages"] == {"role": "assistant", "content": "hello"}
        assert found_by(live, word) == [session_of(trace_id)]  # its words are searchable


def test_embedding_vectors_and_retrieved_documents_are_not_kept(live: LiveServer) -> None:
    """As docs/otel-mapping.md says: an OpenInference embedding span keeps its text, not its
    vectors (thousands of numbers per input); a retriever's documents are not kept."""
    trace_id = new_trace_id()
    root = SpanSpec("main", trace_id, scope="app")
    embedding = SpanSpec("CreateEmbeddings", trace_id, parent=root.span_id, scope="oi", attributes={
        "openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small",
        "embedding.embeddings.0.embedding.text": "hello", "llm.token_count.prompt": 2,
        "embedding.embeddings.0.embedding.vector": [0.1, 0.2, 0.3]})  # fmt: skip
    retriever = SpanSpec("retrieve", trace_id, parent=root.span_id, scope="oi", attributes={
        "openinference.span.kind": "RETRIEVER", "input.value": "what is up",
        "retrieval.documents.0.document.content": "a long document",
        "retrieval.documents.0.document.score": 0.9})  # fmt: skip
    assert send(live, [embedding, retriever, root]).status_code == 200
    body = export(live, trace_id)
    kept = {
        key
        for kind in ("llms", "actions", "tools")
        for event in body[kind]
        for key in event["attributes"]
    }
    assert "embedding.embeddings.0.embedding.text" in kept
    assert "embedding.embeddings.0.embedding.vector" not in kept
    assert not any(key.startswith("retrieval.documents.") for key in kept)


def test_log_content_the_span_already_carries_is_neither_kept_nor_searchable(
    live: LiveServer,
) -> None:
    """The span's own prompt wins over the log record's (an instrumentation may redact it on
    the span): the words left out are not indexed either, only the completion it took."""
    trace_id = new_trace_id()
    chat = SpanSpec("chat gpt-4o-mini", trace_id, kind=3, scope="genai", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.input.messages": messages("user", "[REDACTED]")})  # fmt: skip
    assert send(live, [chat]).status_code == 200
    logs = log_request(trace_id, chat.span_id, "my zebracredential", answer="a tapirword")
    headers = {**PROTOBUF, "X-Agentops-Api-Key": live.api_key}
    assert live.client.post(live.url + "/v1/logs", content=logs, headers=headers).status_code == 200
    (llm,) = export(live, trace_id)["llms"]
    assert "zebracredential" not in json.dumps(llm)
    assert found_by(live, "zebracredential") == []
    assert found_by(live, "tapirword") == [session_of(trace_id)]


def _one_call_two_ways(
    trace_id: str, parent: str, outer_usage: dict[str, Any], inner_usage: dict[str, Any]
) -> tuple[SpanSpec, SpanSpec]:
    """agentops 0.4's span of one OpenAI call around openai-v2's span of the same call, each
    with these usage attributes besides the input and output tokens."""
    outer = agentops_llm_span(trace_id, parent)
    outer.attributes = {**outer.attributes, **outer_usage}
    if outer_usage.get(NO_USAGE):  # e.g. a streamed answer whose usage it did not read
        outer.attributes = {k: v for k, v in outer.attributes.items()
                            if not k.startswith("gen_ai.usage.") and k != NO_USAGE}  # fmt: skip
    inner = SpanSpec("chat gpt-4o-mini", trace_id, parent=outer.span_id, start_ms=2, end_ms=5,
        kind=3, scope="opentelemetry.instrumentation.openai_v2", attributes={
            "gen_ai.system": "openai", "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.response.id": outer.attributes["gen_ai.response.id"],
            "gen_ai.usage.input_tokens": 21, "gen_ai.usage.output_tokens": 7,
            **inner_usage})  # fmt: skip
    return outer, inner


CACHED = "gen_ai.usage.cache_read_input_tokens"
REASONING = "gen_ai.usage.reasoning.output_tokens"
REPORTED_COST = "gen_ai.usage.total_cost"
NO_USAGE = "(no usage attributes)"
ARRIVALS = {  # the requests that bring the two spans, in order (the session span comes last)
    "one request": [["outer", "inner"]],
    "outer first": [["outer"], ["inner"]],
    "inner first": [["inner"], ["outer"]],
    "outer first, then both again": [["outer"], ["outer", "inner"]],
    "inner first, then both again": [["inner"], ["outer", "inner"]],
}


@pytest.mark.parametrize(
    ("outer_usage", "inner_usage", "call"),
    [
        # 16 of 21 inputs cached: 5 x 0.15 + 16 x 0.075 + 7 x 0.6 USD per million
        ({CACHED: 16}, {REASONING: 4}, (16, 4, "0.00000615", "computed")),
        ({CACHED: 3}, {CACHED: 16}, (16, None, "0.00000615", "computed")),  # the inner's wins
        ({REPORTED_COST: 0.5}, {CACHED: 16}, (16, None, "0.5", "reported")),
        ({NO_USAGE: True}, {}, (None, None, "0.00000735", "computed")),  # 21 x 0.15 + 7 x 0.6
        # a cost over 1,000,000 USD for one call is not used: the other span's is
        ({REPORTED_COST: 0.5}, {REPORTED_COST: 2_000_000}, (None, None, "0.5", "reported")),
    ],
    ids=[
        "a kind from each",
        "both report one kind",
        "the outer reports the cost",
        "the outer reports no tokens",
        "the inner's cost is out of range",
    ],
)
def test_one_call_seen_by_two_instrumentations_is_priced_once_from_what_both_report(
    live: LiveServer,
    outer_usage: dict[str, Any],
    inner_usage: dict[str, Any],
    call: tuple[int | None, int | None, str, str],
) -> None:
    """Each instrumentation may report what the other leaves out (cached input, reasoning
    tokens, a cost): the call keeps the inner span's figures, else the outer's, is priced
    once with them, and the session's statistics and its model's calls and cost are the same
    whatever order and grouping the spans arrive in (a later span fills in the call stored
    before it), however often they are sent."""
    outcomes = {}
    for arrival, requests in ARRIVALS.items():
        trace_id = new_trace_id()
        root = agentops_session_span(trace_id)
        outer, inner = _one_call_two_ways(trace_id, root.span_id, outer_usage, inner_usage)
        spans = {"outer": outer, "inner": inner}
        for names in [*requests, requests[-1], ["root"]]:  # the last request sent twice
            batch = [root] if names == ["root"] else [spans[name] for name in names]
            assert send(live, batch).status_code == 200
        body = export(live, trace_id)
        (llm,) = body["llms"]
        stats = body["stats"]
        outcomes[arrival] = (
            (llm["cache_read_tokens"], llm["reasoning_tokens"], llm["cost"], llm["cost_source"]),
            (stats["cost"], stats["cache_read_tokens"], stats["reasoning_tokens"]),
            (stats["prompt_tokens"], stats["completion_tokens"], stats["event_counts"]["llms"]),
        )
    tokens, reasoning, cost, _ = call
    expected = (call, (cost, tokens or 0, reasoning or 0), (21, 7, 1))
    assert outcomes == dict.fromkeys(ARRIVALS, expected)
    # the model's calls and cost over the project (the dashboard's overview) agree
    overview = live.store.overview(live.project_id, None, None)
    (model,) = overview.models
    assert model.calls == len(ARRIVALS)
    assert (
        model.cost_nanos == overview.totals.cost_nanos == len(ARRIVALS) * int(Decimal(cost) * 10**9)
    )


@pytest.mark.parametrize("outer_tokens", [True, False], ids=["both count", "outer counts none"])
def test_one_embedding_seen_by_two_instrumentations_is_one_call(
    live: LiveServer, outer_tokens: bool
) -> None:
    """An embedding has no output tokens, and usually no response id: the two spans of one
    request are recognised by their input tokens (a stored call's output counts as 0), or by
    a shared response id when one of them counts no tokens, and priced by the input alone, in
    any order."""
    for arrival, requests in ARRIVALS.items():
        trace_id = new_trace_id()
        root = SpanSpec("main", trace_id, scope="app")
        embed = {"gen_ai.operation.name": "embeddings", "gen_ai.system": "openai",
                 "gen_ai.request.model": "text-embedding-3-small",
                 "gen_ai.usage.input_tokens": 8}  # fmt: skip
        if not outer_tokens:
            embed["gen_ai.response.id"] = "embd-" + trace_id
        outer_attributes = {k: v for k, v in embed.items() if outer_tokens or "usage" not in k}
        outer = SpanSpec("embeddings text-embedding-3-small", trace_id, parent=root.span_id,
                         kind=3, scope="outer.instrumentation",
                         attributes=outer_attributes)  # fmt: skip
        inner = SpanSpec("embeddings text-embedding-3-small", trace_id, parent=outer.span_id,
                         kind=3, scope="opentelemetry.instrumentation.openai_v2",
                         attributes=embed)  # fmt: skip
        spans = {"outer": outer, "inner": inner}
        for names in [*requests, ["root"]]:
            batch = [root] if names == ["root"] else [spans[name] for name in names]
            assert send(live, batch).status_code == 200
        stats = export(live, trace_id)["stats"]
        counted = (stats["event_counts"]["llms"], stats["prompt_tokens"], stats["cost"])
        assert counted == (1, 8, "0.00000016"), arrival  # 8 x 0.02 USD per million
