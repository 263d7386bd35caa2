"""anthropic (the real library) -> fake Anthropic on loopback; agentops -> a real server.

Anthropic's input_tokens exclude cache reads and writes: the stored prompt_tokens must be the
whole input, and the cost must price each part as Anthropic does.
"""

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

MODEL = "claude-3-5-sonnet-latest"
RESPONSE_MODEL = "claude-3-5-sonnet-20241022"

MESSAGES = """
import anthropic
client = anthropic.Anthropic(base_url=FAKE, api_key="sk-ant-fake", max_retries=0)
aclient = anthropic.AsyncAnthropic(base_url=FAKE, api_key="sk-ant-fake", max_retries=0)
msgs = [{"role": "user", "content": "Say hi"}]
TOOLS = [{"name": "get_weather", "input_schema": {"type": "object"}}]
M = "claude-3-5-sonnet-latest"
def tag(name):
    return {"user_id": name}

m = client.messages.create(model=M, max_tokens=64, system="Be brief.", messages=msgs,
                           metadata=tag("sync"))
out["sync_text"] = m.content[0].text
out["sync_type"] = type(m).__name__
stream = client.messages.create(model=M, max_tokens=64, messages=msgs, stream=True,
                                metadata=tag("stream"))
out["stream_types"] = sorted({e.type for e in stream})
with client.messages.stream(model=M, max_tokens=64, messages=msgs, tools=TOOLS,
                            metadata=tag("helper")) as s:
    out["helper_text"] = s.get_final_text()
raw = client.messages.with_raw_response.create(model=M, max_tokens=64, messages=msgs,
                                               metadata=tag("raw"))
out["raw_text"] = raw.parse().content[0].text

async def main():
    m = await aclient.messages.create(model=M, max_tokens=64, messages=msgs, tools=TOOLS,
                                      metadata=tag("async"))
    stream = await aclient.messages.create(model=M, max_tokens=64, messages=msgs, stream=True,
                                           metadata=tag("async-stream"))
    async for _ in stream:
        pass
    async with aclient.messages.stream(model=M, max_tokens=64, messages=msgs,
                                       metadata=tag("async-helper")) as s:
        out["async_helper_text"] = "".join([t async for t in s.text_stream])
asyncio.run(main())

for status in (429, 500):
    try:
        client.messages.create(model=M, max_tokens=64, messages=msgs,
                               metadata=tag(f"fail-{status}"))
    except anthropic.APIStatusError as exc:
        out[f"caught_{status}"] = [type(exc).__name__, exc.status_code]
try:
    with client.messages.stream(model=M, max_tokens=64, messages=msgs,
                                metadata=tag("fail-stream")) as s:
        s.until_done()
except anthropic.APIError as exc:
    out["caught_stream"] = type(exc).__name__
"""


def test_messages_create_streams_helpers_and_errors(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, MESSAGES)
    assert result["sync_type"] == "Message"
    assert result["sync_text"] == result["helper_text"] == result["async_helper_text"] == fp.TEXT
    assert result["raw_text"] == fp.TEXT
    assert "message_stop" in result["stream_types"]
    assert result["caught_429"] == ["RateLimitError", 429]
    assert result["caught_500"] == ["InternalServerError", 500]
    assert result["caught_stream"] == "APIStatusError"

    data = export(server, result["session_id"])
    events = by_tag(data["llms"], key="metadata")
    ok = ["sync", "stream", "helper", "raw", "async", "async-stream", "async-helper"]
    assert sorted(events) == sorted([*ok, "fail-429", "fail-500", "fail-stream"])
    total_input = fp.ANTH_INPUT + fp.ANTH_CACHE_READ + fp.ANTH_CACHE_WRITE
    cost = expected_cost(
        RESPONSE_MODEL,
        "anthropic",
        total_input,
        fp.ANTH_OUTPUT,
        fp.ANTH_CACHE_READ,
        fp.ANTH_CACHE_WRITE,
    )
    for name in ok:
        event = events[name]
        assert event["model"] == RESPONSE_MODEL and event["provider"] == "anthropic", name
        assert event["prompt_tokens"] == total_input, name
        assert event["completion_tokens"] == fp.ANTH_OUTPUT, name
        assert event["cache_read_tokens"] == fp.ANTH_CACHE_READ, name
        assert event["cache_write_tokens"] == fp.ANTH_CACHE_WRITE, name
        assert Decimal(event["cost"]) == cost, name
        assert event["completion"]["messages"]["content"] == fp.TEXT, name
    assert events["sync"]["prompt"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi"},
    ]
    assert events["sync"]["params"] == {
        "model": MODEL,
        "max_tokens": 64,
        "metadata": {"user_id": "sync"},
    }
    for name in ("helper", "async"):
        (call,) = events[name]["completion"]["messages"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert call["function"]["arguments"] == '{"city": "Paris"}'

    errors = {e["trigger_event_id"]: e["error_type"] for e in data["errors"]}
    assert errors == {
        events["fail-429"]["id"]: "RateLimitError",
        events["fail-500"]["id"]: "InternalServerError",
        events["fail-stream"]["id"]: "APIStatusError",
    }
    assert events["fail-429"]["cost"] == "0"  # rejected: nothing billed
    broken = events["fail-stream"]  # broke after message_start: input known, output not
    assert broken["completion_tokens"] is None and broken["cost"] is None
    assert_totals_match(data, result)


EDGES = """
import anthropic
client = anthropic.Anthropic(base_url=FAKE, api_key="sk-ant-fake", max_retries=0)
aclient = anthropic.AsyncAnthropic(base_url=FAKE, api_key="sk-ant-fake", max_retries=0)
msgs = [{"role": "user", "content": "Say hi"}]
M = "claude-3-5-sonnet-latest"
THINK = {"type": "enabled", "budget_tokens": 1024}
def tag(name):
    return {"user_id": name}

m = client.messages.create(model=M, max_tokens=2048, messages=msgs, thinking=THINK,
                           metadata=tag("thinking"))
out["thinking"] = m.content[0].thinking
for _ in client.messages.create(model=M, max_tokens=2048, messages=msgs, thinking=THINK,
                                stream=True, metadata=tag("thinking-stream")):
    pass
try:
    with client.messages.stream(model=M, max_tokens=64, messages=msgs,
                                metadata=tag("fail-500")) as s:
        pass
except anthropic.InternalServerError as exc:
    out["caught_helper"] = exc.status_code

async def main():
    raw = await aclient.messages.with_raw_response.create(model=M, max_tokens=64, messages=msgs,
                                                          metadata=tag("async-raw"))
    out["async_raw_text"] = (await raw.parse()).content[0].text
    async with aclient.messages.with_streaming_response.create(
            model=M, max_tokens=64, messages=msgs, metadata=tag("async-body-unread")) as body:
        out["unread_text"] = (await body.parse()).content[0].text  # the caller reads it
    try:
        async with aclient.messages.stream(model=M, max_tokens=64, messages=msgs,
                                           metadata=tag("fail-429")) as s:
            pass
    except anthropic.RateLimitError as exc:
        out["caught_async_helper"] = exc.status_code
asyncio.run(main())
"""


def test_thinking_async_raw_and_helpers_that_fail_to_start(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, EDGES)
    assert result["thinking"] == fp.THINKING and result["async_raw_text"] == fp.TEXT
    assert result["caught_helper"] == 500 and result["caught_async_helper"] == 429
    data = export(server, result["session_id"])
    events = by_tag(data["llms"], key="metadata")
    assert sorted(events) == [
        "async-body-unread",
        "async-raw",
        "fail-429",
        "fail-500",
        "thinking",
        "thinking-stream",
    ]
    assert result["unread_text"] == fp.TEXT
    assert events["async-body-unread"]["cost"] is None  # the SDK does not read it: unknown
    for name in ("thinking", "thinking-stream"):
        completion = events[name]["completion"]["messages"]
        assert completion["content"] == fp.TEXT, name
        assert completion["reasoning"] == fp.THINKING, name
        assert events[name]["completion_tokens"] == fp.ANTH_OUTPUT, name
    # an async raw response (its body read by the library) is recorded as the sync one is
    async_raw = events["async-raw"]
    assert async_raw["completion"]["messages"]["content"] == fp.TEXT
    assert async_raw["completion_tokens"] == fp.ANTH_OUTPUT
    assert async_raw["prompt_tokens"] == fp.ANTH_INPUT + fp.ANTH_CACHE_READ + fp.ANTH_CACHE_WRITE
    assert async_raw["cost"] is not None
    errors = {e["trigger_event_id"]: e["error_type"] for e in data["errors"]}
    assert errors == {
        events["fail-500"]["id"]: "InternalServerError",
        events["fail-429"]["id"]: "RateLimitError",
    }
    assert_totals_match(data, result)
