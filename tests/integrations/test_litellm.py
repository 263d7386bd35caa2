"""litellm (the real library) -> fake providers; each call is ONE event, although litellm calls
the openai library underneath, and importing litellm leaves the other integrations working
(agentops 0.3.26 bug #655)."""

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

BEFORE_INIT = """
import litellm  # imported before agentops.init(), then openai used directly too
import openai
"""

CALLS = """
msgs = [{"role": "user", "content": "Say hi"}]
OPENAI = dict(api_base=FAKE + "/v1", api_key="sk-fake", max_retries=0, num_retries=0)
r = litellm.completion(model="openai/gpt-4o-mini", messages=msgs, user="completion", **OPENAI)
out["text"] = r.choices[0].message.content
stream = litellm.completion(model="openai/gpt-4o-mini", messages=msgs, user="stream",
                            stream=True, stream_options={"include_usage": True}, **OPENAI)
out["stream_type"] = type(stream).__name__
out["stream_text"] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

async def main():
    await litellm.acompletion(model="openai/gpt-4o-mini", messages=msgs, user="acompletion",
                              **OPENAI)
    stream = await litellm.acompletion(model="openai/gpt-4o-mini", messages=msgs,
                                       user="astream", stream=True,
                                       stream_options={"include_usage": True}, **OPENAI)
    async for _ in stream:
        pass
asyncio.run(main())

r = litellm.completion(model="anthropic/claude-3-5-sonnet-latest", messages=msgs,
                       metadata={"user_id": "anthropic"}, api_base=FAKE, api_key="sk-ant",
                       max_tokens=64)
try:
    litellm.completion(model="openai/gpt-4o-mini", messages=msgs, user="fail-429", **OPENAI)
except Exception as exc:
    out["caught"] = [type(exc).__module__.split(".")[0], type(exc).__name__]

client = openai.OpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user="direct-openai")
"""


def test_litellm_calls_are_recorded_once_and_openai_stays_instrumented(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, CALLS, before_init=BEFORE_INIT)
    assert result["text"] == result["stream_text"] == fp.TEXT
    assert result["stream_type"] == "CustomStreamWrapper"
    assert result["caught"] == ["litellm", "RateLimitError"]
    data = export(server, result["session_id"])
    tags = [
        (e.get("params") or {}).get("user") or (e.get("params") or {}).get("metadata", {})
        for e in data["llms"]
    ]
    assert len(data["llms"]) == 7, tags  # one event per call: no double counting
    events = {
        k: v for k, v in by_tag([e for e in data["llms"] if "user" in (e["params"] or {})]).items()
    }
    assert sorted(events) == sorted(
        ["completion", "stream", "acompletion", "astream", "fail-429", "direct-openai"]
    )
    cost = expected_cost(
        "gpt-4o-mini-2024-07-18",
        "openai",
        fp.CHAT_PROMPT,
        fp.CHAT_COMPLETION,
        fp.CHAT_CACHED,
        None,
        0,
    )
    for name in ("completion", "stream", "acompletion", "astream", "direct-openai"):
        event = events[name]
        assert "api_key" not in event["params"], name  # credentials are never recorded
        assert event["provider"] == "openai", name
        assert (event["prompt_tokens"], event["completion_tokens"]) == (
            fp.CHAT_PROMPT,
            fp.CHAT_COMPLETION,
        ), name
        assert event["cache_read_tokens"] == fp.CHAT_CACHED, name
        assert Decimal(event["cost"]) == cost, name
        assert event["completion"]["messages"]["content"] == fp.TEXT, name
    (anthropic,) = [e for e in data["llms"] if "metadata" in (e["params"] or {})]
    total_input = fp.ANTH_INPUT + fp.ANTH_CACHE_READ + fp.ANTH_CACHE_WRITE
    assert anthropic["provider"] == "anthropic"
    assert anthropic["prompt_tokens"] == total_input
    assert anthropic["cache_read_tokens"] == fp.ANTH_CACHE_READ
    assert anthropic["cache_write_tokens"] == fp.ANTH_CACHE_WRITE
    assert Decimal(anthropic["cost"]) == expected_cost(
        anthropic["model"],
        "anthropic",
        total_input,
        fp.ANTH_OUTPUT,
        fp.ANTH_CACHE_READ,
        fp.ANTH_CACHE_WRITE,
    )
    (error,) = data["errors"]
    assert error["trigger_event_id"] == events["fail-429"]["id"]
    assert events["fail-429"]["provider"] == "openai"  # the provider called, as on success
    assert error["error_type"] == "RateLimitError"
    assert_totals_match(data, result)


def test_litellm_imported_after_init_is_instrumented_too(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = """
import litellm  # after agentops.init(): patched by the import hook, openai with it
import openai
msgs = [{"role": "user", "content": "hi"}]
litellm.completion(model="openai/gpt-4o-mini", messages=msgs, user="via-litellm",
                   api_base=FAKE + "/v1", api_key="k", max_retries=0)
openai.OpenAI(base_url=FAKE + "/v1", api_key="k", max_retries=0).chat.completions.create(
    model="gpt-4o-mini", messages=msgs, user="direct")
"""
    result = run_agent(server, fake, body)
    data = export(server, result["session_id"])
    assert sorted(by_tag(data["llms"])) == ["direct", "via-litellm"]


EDGES = """
import litellm
msgs = [{"role": "user", "content": "Say hi"}]
OPENAI = dict(api_base=FAKE + "/v1", api_key="sk-fake", max_retries=0, num_retries=0)
# no session yet (auto_start_session=False): the calls go straight to litellm
litellm.completion(model="openai/gpt-4o-mini", messages=msgs, user="nobody", **OPENAI)
asyncio.run(litellm.acompletion(model="openai/gpt-4o-mini", messages=msgs, user="nobody-async",
                                **OPENAI))
session = agentops.start_session()
r = litellm.completion("openai/gpt-4o-mini", msgs, user="positional", **OPENAI)
out["text"] = r.choices[0].message.content
for _ in litellm.completion(model="openai/gpt-4o-mini", messages=msgs, user="tool-calls",
                            stream=True, stream_options={"include_usage": True}, **OPENAI):
    pass
try:
    for _ in litellm.completion(model="openai/gpt-4o-mini", messages=msgs, user="fail-stream",
                                stream=True, **OPENAI):
        pass
except Exception as exc:
    out["caught_stream"] = type(exc).__module__.split(".")[0]

async def main():
    try:
        await litellm.acompletion(model="openai/gpt-4o-mini", messages=msgs, user="fail-500",
                                  **OPENAI)
    except Exception as exc:
        out["caught_async"] = type(exc).__name__
    stream = await litellm.acompletion(model="openai/gpt-4o-mini", messages=msgs,
                                       user="fail-stream-async", stream=True, **OPENAI)
    try:
        async for _ in stream:
            pass
    except Exception as exc:
        out["caught_async_stream"] = type(exc).__module__.split(".")[0]
asyncio.run(main())
"""


def test_litellm_positional_arguments_streamed_tools_and_failures(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, EDGES, init_kwargs="auto_start_session=False")
    assert result["text"] == fp.TEXT
    assert result["caught_async"] == "InternalServerError"
    assert result["caught_stream"] == result["caught_async_stream"] == "litellm"
    assert {"nobody", "nobody-async"} <= {r["body"].get("user") for r in fake.requests}
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    assert sorted(events) == [
        "fail-500",
        "fail-stream",
        "fail-stream-async",
        "positional",
        "tool-calls",
    ]
    positional = events["positional"]  # model and messages given positionally
    assert positional["model"] == "gpt-4o-mini-2024-07-18"
    assert positional["prompt"]["messages"] == [{"role": "user", "content": "Say hi"}]
    assert positional["prompt_tokens"] == fp.CHAT_PROMPT
    (call,) = events["tool-calls"]["completion"]["messages"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    errors = {e["trigger_event_id"] for e in data["errors"]}
    assert errors == {events[n]["id"] for n in ("fail-500", "fail-stream", "fail-stream-async")}
    assert {events[n]["provider"] for n in events} == {"openai"}  # failed calls too
    assert_totals_match(data, result)


LEFT_EARLY = """
import gc
import litellm
msgs = [{"role": "user", "content": "Say hi"}]
OPENAI = dict(api_base=FAKE + "/v1", api_key="sk-fake", max_retries=0, num_retries=0,
              model="openai/gpt-4o-mini", messages=msgs, stream=True,
              stream_options={"include_usage": True})
stream = litellm.completion(user="garbage-collected", **OPENAI)
for i, chunk in enumerate(stream):
    if i == 1:
        out["read"] = chunk.choices[0].delta.content
        break
del stream, chunk
gc.collect()
with litellm.completion(user="closed-by-with", **OPENAI) as stream:
    for chunk in stream:
        break
litellm.completion(user="never-read", **OPENAI)
gc.collect()

async def main():
    stream = await litellm.acompletion(user="async-closed", **OPENAI)
    async for chunk in stream:
        break
    await stream.aclose()
asyncio.run(main())
"""


def test_litellm_streams_left_early_are_recorded_with_what_they_delivered(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, LEFT_EARLY)
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    assert sorted(events) == ["async-closed", "closed-by-with", "garbage-collected"]
    left = events["garbage-collected"]
    assert left["completion"]["messages"]["content"] == result["read"] == fp.TEXT_PARTS[0]
    assert left["provider"] == "openai" and left["prompt_tokens"] is None
    assert data["errors"] == []
