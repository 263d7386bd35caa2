"""openai (the real library) -> fake OpenAI on loopback; agentops -> a real server."""

from __future__ import annotations

from decimal import Decimal

from tests.integrations.conftest import (
    assert_totals_match,
    by_tag,
    expected_cost,
    export,
    run_agent,
)
from tests.support import fake_providers as fp
from tests.support.fake_providers import FakeProviders
from tests.support.server import ServerProcess

CLIENTS = """
import openai
client = openai.OpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
aclient = openai.AsyncOpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
msgs = [{"role": "user", "content": "Say hi"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
"""

CHAT = (
    CLIENTS
    + """
r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="sync",
                                   temperature=0.2)
out["sync_text"] = r.choices[0].message.content
out["sync_type"] = type(r).__name__

async def main():
    r = await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="async")
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=msgs, user="async-stream", stream=True,
        stream_options={"include_usage": True})
    parts = [c.choices[0].delta.content async for c in stream if c.choices]
    out["async_stream_text"] = "".join(p or "" for p in parts)
asyncio.run(main())

stream = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="stream-usage",
                                        stream=True, stream_options={"include_usage": True})
out["stream_type"] = type(stream).__name__
out["stream_text"] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
for c in client.chat.completions.create(model="gpt-4o-mini", messages=msgs,
                                        user="stream-no-usage", stream=True):
    pass
for c in client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="tools",
                                        tools=TOOLS, stream=True,
                                        stream_options={"include_usage": True}):
    pass
with client.chat.completions.stream(model="o3-mini", messages=msgs, user="helper",
                                    stream_options={"include_usage": True}) as s:
    out["helper_text"] = s.get_final_completion().choices[0].message.content
raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=msgs,
                                                        user="raw")
out["raw_text"] = raw.parse().choices[0].message.content
"""
)


def test_chat_completions_sync_async_streams_tools_and_raw(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, CHAT)
    # the caller gets the library's own objects and text, untouched
    assert result["sync_type"] == "ChatCompletion" and result["stream_type"] == "Stream"
    for key in ("sync_text", "async_stream_text", "stream_text", "helper_text", "raw_text"):
        assert result[key] == fp.TEXT
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    assert sorted(events) == sorted(
        [
            "sync",
            "async",
            "async-stream",
            "stream-usage",
            "stream-no-usage",
            "tools",
            "helper",
            "raw",
        ]
    )
    cost_4o_mini = expected_cost(
        "gpt-4o-mini-2024-07-18",
        "openai",
        fp.CHAT_PROMPT,
        fp.CHAT_COMPLETION,
        fp.CHAT_CACHED,
        None,
        0,
    )
    for tag in ("sync", "async", "async-stream", "stream-usage", "tools", "raw"):
        event = events[tag]
        assert event["model"] == "gpt-4o-mini-2024-07-18", tag  # the response's model
        assert event["provider"] == "openai"
        assert (event["prompt_tokens"], event["completion_tokens"]) == (
            fp.CHAT_PROMPT,
            fp.CHAT_COMPLETION,
        )
        assert event["cache_read_tokens"] == fp.CHAT_CACHED
        assert Decimal(event["cost"]) == cost_4o_mini, tag
        assert event["cost_source"] == "computed"
    sync = events["sync"]
    assert sync["prompt"] == {"type": "chatml", "messages": [{"role": "user", "content": "Say hi"}]}
    assert sync["completion"]["messages"]["content"] == fp.TEXT
    assert sync["params"] == {"model": "gpt-4o-mini", "user": "sync", "temperature": 0.2}
    assert sync["init_timestamp"] <= sync["end_timestamp"]
    # streamed without usage: tokens and cost unknown, never $0
    no_usage = events["stream-no-usage"]
    assert no_usage["prompt_tokens"] is None and no_usage["completion_tokens"] is None
    assert no_usage["cost"] is None and no_usage["cost_source"] == "unknown_tokens"
    assert no_usage["completion"]["messages"]["content"] == fp.TEXT
    # tool calls are part of the completion
    (call,) = events["tools"]["completion"]["messages"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    # reasoning tokens (o-series) are recorded and priced
    helper = events["helper"]
    assert helper["reasoning_tokens"] == fp.REASONING
    assert Decimal(helper["cost"]) == expected_cost(
        "o3-mini", "openai", fp.CHAT_PROMPT, fp.CHAT_COMPLETION, fp.CHAT_CACHED, None, fp.REASONING
    )
    assert data["stats"]["event_counts"]["llms"] == 8
    assert_totals_match(data, result)


RESPONSES = (
    CLIENTS
    + """
r = client.responses.create(model="gpt-4o-mini", input="hello", instructions="Be brief.",
                            user="responses")
out["text"] = r.output_text
for event in client.responses.create(model="o3-mini", input="hello", stream=True,
                                     user="responses-stream"):
    pass
async def main():
    await aclient.responses.create(model="gpt-4o-mini", input=msgs, user="responses-async")
    async for _ in await aclient.responses.create(model="gpt-4o-mini", input="hi", stream=True,
                                                  user="responses-async-stream"):
        pass
    e = await aclient.embeddings.create(model="text-embedding-3-small", input=["a", "b", "c"],
                                        user="embeddings")
    out["vectors"] = len(e.data)
asyncio.run(main())
"""
)


def test_responses_api_and_embeddings(server: ServerProcess, fake: FakeProviders) -> None:
    result = run_agent(server, fake, RESPONSES)
    assert result["text"] == fp.TEXT and result["vectors"] == 3
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    assert sorted(events) == [
        "embeddings",
        "responses",
        "responses-async",
        "responses-async-stream",
        "responses-stream",
    ]
    for name in ("responses-async", "responses-async-stream"):
        assert events[name]["prompt_tokens"] == fp.RESP_INPUT, name
        assert events[name]["completion"]["messages"]["content"] == fp.TEXT, name
    plain = events["responses"]
    assert plain["prompt"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
    ]
    assert plain["completion"]["messages"]["content"] == fp.TEXT
    assert (plain["prompt_tokens"], plain["completion_tokens"], plain["cache_read_tokens"]) == (
        fp.RESP_INPUT,
        fp.RESP_OUTPUT,
        fp.RESP_CACHED,
    )
    assert Decimal(plain["cost"]) == expected_cost(
        "gpt-4o-mini-2024-07-18", "openai", fp.RESP_INPUT, fp.RESP_OUTPUT, fp.RESP_CACHED, None, 0
    )
    streamed = events["responses-stream"]
    assert streamed["reasoning_tokens"] == fp.REASONING
    assert Decimal(streamed["cost"]) == expected_cost(
        "o3-mini", "openai", fp.RESP_INPUT, fp.RESP_OUTPUT, fp.RESP_CACHED, None, fp.REASONING
    )
    embeddings = events["embeddings"]
    assert embeddings["prompt_tokens"] == 3 * fp.EMBED_PER_INPUT
    assert embeddings["completion_tokens"] == 0
    assert Decimal(embeddings["cost"]) == expected_cost(
        "text-embedding-3-small", "openai", 3 * fp.EMBED_PER_INPUT, 0
    )
    assert_totals_match(data, result)


ERRORS = (
    CLIENTS
    + """
for status in (429, 500):
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user=f"fail-{status}")
    except openai.APIStatusError as exc:
        out[f"caught_{status}"] = [type(exc).__name__, exc.status_code]
nowhere = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0)
try:
    nowhere.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="unreachable")
except openai.APIConnectionError as exc:
    out["caught_connection"] = type(exc).__name__
stream = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="fail-stream",
                                        stream=True)
try:
    for chunk in stream:
        pass
except openai.APIError as exc:
    out["caught_stream"] = type(exc).__name__
"""
)


def test_provider_errors_reach_the_caller_unchanged_and_are_recorded(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, ERRORS)
    assert result["caught_429"] == ["RateLimitError", 429]
    assert result["caught_500"] == ["InternalServerError", 500]
    assert result["caught_stream"] == "APIError"
    assert result["caught_connection"] == "APIConnectionError"
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    assert sorted(events) == ["fail-429", "fail-500", "fail-stream", "unreachable"]
    errors = {e["trigger_event_id"]: e for e in data["errors"]}
    assert len(errors) == 4
    for tag, kind in (("fail-429", "RateLimitError"), ("fail-500", "InternalServerError")):
        llm = events[tag]
        assert errors[llm["id"]]["error_type"] == kind
        assert errors[llm["id"]]["trigger_event_type"] == "llms"
        assert llm["cost"] == "0"  # a rejected request is not billed
    broken = events["fail-stream"]
    assert errors[broken["id"]]["error_type"] == "APIError"
    assert broken["completion"]["messages"]["content"] == fp.TEXT  # what arrived before it broke
    assert broken["cost"] is None and broken["cost_source"] == "unknown_tokens"
    # no answer at all (connection refused, timeout): whether it was billed is unknown
    unreachable = events["unreachable"]
    assert errors[unreachable["id"]]["error_type"] == "APIConnectionError"
    assert unreachable["cost"] is None and unreachable["cost_source"] == "unknown_tokens"
    assert data["stats"]["errors"] == 4
    assert_totals_match(data, result)


def test_costs_and_session_totals_on_postgresql(
    pg_server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(pg_server, fake, RESPONSES)
    data = export(pg_server, result["session_id"])
    assert len(data["llms"]) == 5
    assert all(e["cost_source"] == "computed" for e in data["llms"])
    assert_totals_match(data, result)


EDGES = (
    CLIENTS
    + """
r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="tools-json",
                                   tools=TOOLS)
out["tool_name"] = r.choices[0].message.tool_calls[0].function.name
r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="refusal")
out["refusal"] = r.choices[0].message.refusal
raw = client.responses.with_raw_response.create(model="gpt-4o-mini", input="hi",
                                                user="responses-raw")
out["raw_text"] = raw.parse().output_text
stream = client.responses.create(model="gpt-4o-mini", input="hi", stream=True,
                                 user="responses-left-early")
for event in stream:
    if event.type == "response.output_text.delta":
        break
stream.close()

async def main():
    try:
        await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="fail-500")
    except openai.InternalServerError as exc:
        out["caught_async"] = exc.status_code
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs,
                                                   user="fail-stream", stream=True)
    try:
        async for _ in stream:
            pass
    except openai.APIError as exc:
        out["caught_async_stream"] = type(exc).__name__
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs,
                                                   user="async-left-early", stream=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    await stream.close()
asyncio.run(main())
"""
)


def test_tool_calls_refusals_async_failures_and_streams_left_early(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, EDGES)
    assert result["tool_name"] == "get_weather" and result["refusal"] == fp.REFUSAL
    assert result["raw_text"] == fp.TEXT
    assert result["caught_async"] == 500 and result["caught_async_stream"] == "APIError"
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    assert sorted(events) == [
        "async-left-early",
        "fail-500",
        "fail-stream",
        "refusal",
        "responses-left-early",
        "responses-raw",
        "tools-json",
    ]
    (call,) = events["tools-json"]["completion"]["messages"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert events["refusal"]["completion"]["messages"]["refusal"] == fp.REFUSAL
    raw = events["responses-raw"]
    assert raw["completion"]["messages"]["content"] == fp.TEXT
    assert raw["prompt_tokens"] == fp.RESP_INPUT
    # left after the first piece of text: recorded at close, with what was read, tokens unknown
    for name in ("responses-left-early", "async-left-early"):
        left = events[name]
        assert left["completion"]["messages"]["content"] == fp.TEXT_PARTS[0], name
        assert left["prompt_tokens"] is None and left["cost"] is None, name
    errors = {e["trigger_event_id"]: e["error_type"] for e in data["errors"]}
    assert errors == {
        events["fail-500"]["id"]: "InternalServerError",
        events["fail-stream"]["id"]: "APIError",
    }
    assert events["fail-stream"]["completion"]["messages"]["content"] == fp.TEXT
    assert_totals_match(data, result)


def test_a_chunk_the_sdk_cannot_read_reaches_the_caller_and_the_rest_is_recorded(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        CLIENTS
        + """
chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=msgs,
                                             user="odd-chunk", stream=True))
out["chunks"] = len(chunks)
async def main():
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs,
                                                   user="odd-chunk-async", stream=True)
    return [c async for c in stream]
out["async_chunks"] = len(asyncio.run(main()))
# our failure to read the odd chunk was swallowed (and logged), never raised
out["swallowed"] = [e.strip().splitlines()[-1].split(":")[0] for e in internal_errors]
internal_errors.clear()
"""
    )
    result = run_agent(server, fake, body)
    assert result["chunks"] == result["async_chunks"] == 1 + 1 + len(fp.TEXT_PARTS) + 1
    assert result["swallowed"] == ["AttributeError", "AttributeError"]
    events = by_tag(export(server, result["session_id"])["llms"])
    assert sorted(events) == ["odd-chunk", "odd-chunk-async"]
    for event in events.values():
        assert event["completion"]["messages"]["content"] == fp.TEXT


IN_AN_OPERATION = (
    CLIENTS
    + """
history = [{"role": "user", "content": "q0"}]

@agentops.operation
def ask(tag):
    return client.chat.completions.create(model="gpt-4o-mini", messages=history, user=tag)

for i in range(3):
    r = ask(f"turn-{i}")
    reply = {"role": "assistant", "content": r.choices[0].message.content}
    history.append(reply)
    history.append({"role": "user", "content": f"q{i + 1}"})
    reply["content"] += " (edited)"
    history[0]["content"] += "!"  # a message already sent, changed
for tag in ("fail-500", "over-budget"):
    try:
        ask(tag)
    except (openai.APIStatusError, agentops.BudgetExceeded) as exc:
        out[tag] = type(exc).__name__
"""
)


def test_an_agent_loop_in_an_operation_records_prompts_as_sent_and_each_error_once(
    server: ServerProcess, fake: FakeProviders
) -> None:
    """The messages an agent keeps appending to (and editing) are stored as each call sent
    them; an LLM call failing inside a decorated call (an error status, a refused budget) is
    one error event, the LLM call's, not one more for the decorated call it raised through."""
    result = run_agent(server, fake, IN_AN_OPERATION, init_kwargs="max_llm_calls=4")
    assert result["fail-500"] == "InternalServerError"
    assert result["over-budget"] == "BudgetExceeded"
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    for i in range(3):
        messages = events[f"turn-{i}"]["prompt"]["messages"]
        assert len(messages) == 1 + 2 * i
        assert messages[0]["content"] == "q0" + "!" * i
        assert [m["content"] for m in messages[1::2]] == [f"{fp.TEXT} (edited)"] * i
    errors = sorted(data["errors"], key=lambda e: str(e["error_type"]))
    assert [e["error_type"] for e in errors] == ["BudgetExceeded", "InternalServerError"]
    assert {e["trigger_event_id"] for e in errors} == {
        events["fail-500"]["id"],
        events["over-budget"]["id"],
    }
    assert data["stats"]["errors"] == 2
    assert len(data["actions"]) == 5
    assert "Errors: 2" in result["stderr"]
