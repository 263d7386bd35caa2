"""Generic OTLP senders against a real `agentops serve`, on SQLite and PostgreSQL: the real
opentelemetry-instrumentation-openai-v2 and openinference-instrumentation-openai (their own
virtualenv, stock OTLP/HTTP exporters) calling the fake OpenAI provider, and an OTLP JSON
request written by hand. Each session is checked through the export API."""

from __future__ import annotations

import gzip
import json
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.support import otlp_json
from tests.support.fake_providers import (
    CHAT_CACHED,
    CHAT_COMPLETION,
    CHAT_PROMPT,
    EMBED_PER_INPUT,
    RESPONSE_MODELS,
    TEXT,
)
from tests.support.otel_clients import (
    OTEL_PYTHON,
    assert_tree,
    client_python,
    ended_with,
    event_name,
    expected_cost,
    parent_of,
    run_client,
    wait_for_export,
)
from tests.support.otlp_json import STATUS_OK, Span
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

MODEL = RESPONSE_MODELS["gpt-4o-mini"]
EMBEDDING_MODEL = "text-embedding-3-small"
INSTRUMENTATIONS = ["openai-v2", "openinference"]
# What each instrumentation reports of the fake's cached prompt tokens (openai-v2 2.4b0: none).
CACHED = {"openai-v2": None, "openinference": CHAT_CACHED}


@pytest.fixture(scope="module")
def otel_python() -> Path:
    return client_python(OTEL_PYTHON)


@pytest.fixture(scope="module")
def runs(otel_python: Path, stack: Stack) -> dict[str, dict[str, Any]]:
    """Each instrumentation's program (tests/e2e/scripts/otel_openai.py), run once."""
    server = stack.server
    return {
        name: run_client(
            otel_python,
            stack.workdir,
            "otel_openai.py",
            name,
            server.url,
            server.api_key,
            stack.fake.openai_url,
        )
        for name in INSTRUMENTATIONS
    }


def chats(export: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in export["llms"] if str(e["model"]).startswith("gpt-4o-mini")]


@pytest.mark.parametrize("instrumentation", INSTRUMENTATIONS)
def test_instrumented_openai_calls_are_priced_llm_events_of_a_successful_session(
    stack: Stack, runs: dict[str, dict[str, Any]], instrumentation: str
) -> None:
    # root span "<instrumentation>-ok" > chat, streamed chat (usage included), embedding
    run = runs[instrumentation]
    export = wait_for_export(stack.server, run["ok"], ended_with(3))
    session, stats = export["session"], export["stats"]
    assert session["project_id"] == stack.server.project_id
    assert session["name"] == f"{instrumentation}-ok"
    assert session["end_state"] == "Success"  # root status UNSET, ended
    by_id = assert_tree(export)
    assert stats["events"] == len(by_id) == 3  # the two chats and the embedding
    assert all(e["parent_id"] is None for e in by_id.values())

    calls = chats(export)
    assert len(calls) == 2
    cached = CACHED[instrumentation]
    for llm in calls:
        assert llm["model"] == MODEL
        assert (llm["prompt_tokens"], llm["completion_tokens"]) == (CHAT_PROMPT, CHAT_COMPLETION)
        assert llm["cache_read_tokens"] == cached
        assert llm["cost_source"] == "computed"
        assert Decimal(llm["cost"]) == expected_cost(
            MODEL, CHAT_PROMPT, CHAT_COMPLETION, cache_read=cached
        )
    assert any("Say hi" in str(llm["prompt"]) for llm in calls)
    assert all("Hello world" in str(llm["completion"]) for llm in calls)

    # the embedding is an LLM call too (see the next test for its price)
    assert stats["event_counts"] == {"llms": 3, "tools": 0, "actions": 0, "errors": 0}
    assert stats["prompt_tokens"] == 2 * CHAT_PROMPT + EMBED_PER_INPUT
    assert stats["completion_tokens"] == 2 * CHAT_COMPLETION
    if instrumentation == "openinference":  # using_attributes, on the LLM spans only
        assert sorted(session["tags"]) == ["oi-a", "oi-b"]
        assert session["metadata"]["experiment"] == "e2e"
        assert stats["cache_read_tokens"] == 2 * CHAT_CACHED
    else:
        assert session["tags"] == [] and session["metadata"] is None


@pytest.mark.parametrize("instrumentation", INSTRUMENTATIONS)
def test_an_instrumented_embedding_is_priced_as_our_sdk_prices_it(
    stack: Stack, runs: dict[str, dict[str, Any]], instrumentation: str
) -> None:
    """Input tokens only: an embedding has no output tokens, and its session's cost is
    complete."""
    export = wait_for_export(stack.server, runs[instrumentation]["ok"], ended_with(3))
    (embedding,) = [e for e in export["llms"] if e["model"] == EMBEDDING_MODEL]
    assert embedding["prompt_tokens"] == EMBED_PER_INPUT
    assert embedding["completion_tokens"] in (0, None)
    assert embedding["cost_source"] == "computed"
    assert Decimal(embedding["cost"]) == expected_cost(EMBEDDING_MODEL, EMBED_PER_INPUT, 0)
    stats = export["stats"]
    assert stats["cost_complete"] is True
    assert Decimal(stats["cost"]) == sum((Decimal(e["cost"]) for e in export["llms"]), Decimal(0))


@pytest.mark.parametrize("instrumentation", INSTRUMENTATIONS)
def test_a_failed_openai_call_fails_the_session_with_one_error_linked_to_the_call(
    stack: Stack, runs: dict[str, dict[str, Any]], instrumentation: str
) -> None:
    # root span "<instrumentation>-fail" > chat answered 404; the exception escapes the root
    run = runs[instrumentation]
    export = wait_for_export(stack.server, run["fail"], ended_with(2))
    session, stats = export["session"], export["stats"]
    assert session["name"] == f"{instrumentation}-fail"
    assert session["end_state"] == "Fail"  # root status ERROR
    assert "404" in session["end_state_reason"]  # the root's status message
    by_id = assert_tree(export)
    (call,) = by_id.values()
    assert call["parent_id"] is None
    (error,) = export["errors"]
    assert error["trigger_event_id"] == call["id"]
    assert error["trigger_event_type"] == call["event_type"]
    assert "NotFoundError" in error["error_type"]
    assert stats["errors"] == 1 and stats["events"] == 2


def test_every_export_of_the_instrumented_programs_was_accepted(
    runs: dict[str, dict[str, Any]],
) -> None:
    """Spans to /v1/traces (Bearer API key; X-Agentops-Api-Key with gzip) and openai-v2's
    content events to /v1/logs."""
    assert set(runs["openai-v2"]["exports"]) == {"traces SUCCESS", "logs SUCCESS"}
    assert set(runs["openinference"]["exports"]) == {"traces SUCCESS"}


@pytest.fixture(scope="module")
def events_run(otel_python: Path, stack: Stack) -> dict[str, Any]:
    """openai-v2 with its message content in /v1/logs records only (event_only)."""
    server = stack.server
    return run_client(
        otel_python,
        stack.workdir,
        "otel_openai.py",
        "openai-v2-events",
        server.url,
        server.api_key,
        stack.fake.openai_url,
    )


# What our SDK records of the fake's tool-call answer (tests/integrations/test_openai.py)
SDK_TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


@pytest.mark.parametrize("instrumentation", [*INSTRUMENTATIONS, "openai-v2-events"])
def test_completions_are_exported_in_the_shape_our_sdk_records(
    stack: Stack,
    runs: dict[str, dict[str, Any]],
    events_run: dict[str, Any],
    instrumentation: str,
) -> None:
    """A chat answer of one choice is one message, as through our SDK or agentops 0.3, from
    span attributes and from log records alike; a tool call has OpenAI's shape."""
    run = events_run if instrumentation == "openai-v2-events" else runs[instrumentation]
    export = wait_for_export(stack.server, run["ok"], ended_with(3))
    for llm in chats(export):  # the plain and the streamed chat
        assert llm["completion"]["type"] == "chatml", llm["completion"]
        message = llm["completion"]["messages"]
        assert isinstance(message, dict), llm["completion"]
        assert (message["role"], message["content"]) == ("assistant", TEXT)
    export = wait_for_export(stack.server, run["tools"], ended_with(1))
    (llm,) = chats(export)
    message = llm["completion"]["messages"]
    assert isinstance(message, dict) and message["role"] == "assistant", llm["completion"]
    assert message["tool_calls"] == [SDK_TOOL_CALL]


# --- an OTLP JSON request written by hand -----------------------------------------------------
def auth_token(server: ServerProcess) -> str:
    res = httpx.post(f"{server.url}/v3/auth/token", json={"api_key": server.api_key}, timeout=30)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["project_id"] == server.project_id and "project_prem_status" in body
    return str(body["token"])


def post_json(
    server: ServerProcess, spans: list[Span], headers: dict[str, str], encoding: str = ""
) -> None:
    raw = json.dumps(otlp_json.export_request(spans)).encode()
    if encoding == "gzip":
        raw = gzip.compress(raw)
    elif encoding == "deflate":
        raw = zlib.compress(raw)
    headers = {**headers, "Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    res = httpx.post(f"{server.url}/v1/traces", content=raw, headers=headers, timeout=30)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("application/json")
    assert res.json() == {}  # full success: no partial_success


def semconv_trace() -> tuple[Span, list[Span]]:
    """hand-written-run > invoke_agent planner > chat, execute_tool get_weather, fetch_page
    (fails with TimeoutError)."""
    root = Span(trace_id=otlp_json.new_trace_id(), name="hand-written-run")
    root.status_code = STATUS_OK
    start = root.start_ns
    agent = root.child(
        "invoke_agent planner",
        start_ns=start + 1_000_000,
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
    )
    chat = agent.child(
        "chat gpt-4o-mini",
        kind=otlp_json.SPAN_KIND_CLIENT,
        start_ns=start + 2_000_000,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": MODEL,
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 500,
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Plan a trip"}]}]
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": "Go to Paris"}],
                        "finish_reason": "stop",
                    }
                ]
            ),
        },
    )
    tool = agent.child(
        "execute_tool get_weather",
        start_ns=start + 3_000_000,
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.arguments": '{"city": "Paris"}',
            "gen_ai.tool.call.result": '{"temp_c": 21}',
        },
    )
    failing = agent.child("fetch_page", start_ns=start + 4_000_000)
    failing.exception("TimeoutError", "page took too long")
    for span in (chat, tool, failing):
        span.end_ns = span.start_ns + 500_000
    agent.end_ns = start + 5_000_000
    root.end_ns = start + 6_000_000
    return root, [chat, tool, failing, agent]


def test_a_hand_written_otlp_json_trace_is_one_session_with_its_tree(stack: Stack) -> None:
    server = stack.server
    root, children = semconv_trace()
    session_id = otlp_json.session_id(root.trace_id)
    key = {"X-Agentops-Api-Key": server.api_key}
    post_json(server, children, key)  # children first, as exporters send them
    post_json(server, [root], {"Authorization": f"Bearer {auth_token(server)}"}, "deflate")
    export = wait_for_export(server, session_id, ended_with(5))
    post_json(server, children, {"Authorization": f"Bearer {server.api_key}"}, "gzip")
    post_json(server, [root], key)  # each span sent twice is stored once
    again = wait_for_export(server, session_id, ended_with(5))
    assert again["stats"] == export["stats"]
    assert again["llms"] == export["llms"] and again["actions"] == export["actions"]

    session, stats = export["session"], export["stats"]
    assert session["id"] == session_id and session["name"] == "hand-written-run"
    assert session["end_state"] == "Success"
    assert session["init_timestamp"] < session["end_timestamp"]
    assert stats["event_counts"] == {"llms": 1, "tools": 1, "actions": 2, "errors": 1}

    by_id = assert_tree(export)
    chat, tool, failing, agent = (by_id[span.span_id] for span in children)
    assert agent["event_type"] == "actions" and agent["parent_id"] is None
    assert [a["name"] for a in export["agents"]] == ["planner"]
    planner_id = export["agents"][0]["id"]
    for event in (chat, tool, failing):
        assert parent_of(by_id, event) == agent
        assert event["agent_id"] == planner_id, event_name(event)
    assert (chat["event_type"], tool["event_type"], failing["event_type"]) == (
        "llms",
        "tools",
        "actions",
    )
    assert chat["model"] == MODEL and (chat["prompt_tokens"], chat["completion_tokens"]) == (
        1000,
        500,
    )
    assert Decimal(chat["cost"]) == expected_cost(MODEL, 1000, 500) == Decimal(stats["cost"])
    assert "Plan a trip" in str(chat["prompt"]) and "Go to Paris" in str(chat["completion"])
    assert tool["name"] == "get_weather" and "Paris" in str(tool["params"])

    (error,) = export["errors"]
    assert error["trigger_event_id"] == failing["id"]
    assert "TimeoutError" in error["error_type"]
    assert "page took too long" in str(error["details"])


def test_a_hand_written_trace_whose_root_failed_is_a_failed_session(stack: Stack) -> None:
    root = Span(trace_id=otlp_json.new_trace_id(), name="hand-written-failure")
    step = root.child("step", start_ns=root.start_ns + 1000, end_ns=root.start_ns + 2000)
    root.exception("ValueError", "bad plan")
    root.end_ns = root.start_ns + 3000
    post_json(stack.server, [step, root], {"X-Agentops-Api-Key": stack.server.api_key})
    export = wait_for_export(stack.server, otlp_json.session_id(root.trace_id), ended_with(1))
    assert export["session"]["end_state"] == "Fail"
    assert export["session"]["end_state_reason"] == "ValueError: bad plan"
    assert export["actions"][0]["id"] == step.span_id


def test_a_trace_whose_root_never_arrives_is_closed_indeterminate_after_inactivity(
    database_url: str, tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL (`database_url`), with a one-second inactivity period."""
    server = ServerProcess(
        data_dir=tmp_path / "server-data",
        database_url=database_url,
        extra_args=["--session-inactivity", "1"],
    ).start()
    try:
        root = Span(trace_id=otlp_json.new_trace_id(), name="never-ends")
        child = root.child("step", start_ns=root.start_ns + 1000, end_ns=root.start_ns + 2000)
        post_json(server, [child], {"X-Agentops-Api-Key": server.api_key})
        export = wait_for_export(server, otlp_json.session_id(root.trace_id), ended_with(1))
        assert export["session"]["end_state"] == "Indeterminate"
        assert [a["id"] for a in export["actions"]] == [child.span_id]
        assert export["actions"][0]["parent_id"] in (root.span_id, None)
    finally:
        server.stop()
