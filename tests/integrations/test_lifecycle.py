"""Setting up and tearing down instrumentation: import order, instrument_llm_calls=False,
stop_instrumenting(), routing with session= and with no session at all."""

from __future__ import annotations

from tests.integrations.conftest import by_tag, export, run_agent
from tests.support.fake_providers import FakeProviders
from tests.support.server import ServerProcess

OPENAI = """
import openai
client = openai.OpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
msgs = [{"role": "user", "content": "hi"}]
def chat(tag, **kw):
    return client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user=tag, **kw)
"""


def test_libraries_imported_before_init_are_instrumented(
    server: ServerProcess, fake: FakeProviders
) -> None:
    before = "import anthropic\nimport openai\n"
    body = """
    openai.OpenAI(base_url=FAKE + "/v1", api_key="k", max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], user="openai")
    anthropic.Anthropic(base_url=FAKE, api_key="k", max_retries=0).messages.create(
        model="claude-3-5-sonnet-latest", max_tokens=8, metadata={"user_id": "anthropic"},
        messages=[{"role": "user", "content": "hi"}])
    """
    result = run_agent(server, fake, body, before_init=before)
    data = export(server, result["session_id"])
    assert sorted(e["provider"] for e in data["llms"]) == ["anthropic", "openai"]


def test_instrument_llm_calls_false_records_nothing(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
chat("off")
out["patched"] = hasattr(openai.resources.chat.completions.Completions.create,
                         "__agentops_original__")
"""
    )
    result = run_agent(server, fake, body, init_kwargs="instrument_llm_calls=False")
    assert result["patched"] is False
    data = export(server, result["session_id"])
    assert data["llms"] == [] and data["stats"]["event_counts"]["llms"] == 0
    assert len(fake.requests) == 1  # the call itself went through


def test_stop_instrumenting_restores_the_library(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
Completions = openai.resources.chat.completions.Completions
chat("before")
agentops.stop_instrumenting()
out["restored"] = not hasattr(Completions.create, "__agentops_original__")
chat("after")
"""
    )
    result = run_agent(server, fake, body)
    assert result["restored"] is True
    data = export(server, result["session_id"])
    assert list(by_tag(data["llms"])) == ["before"]
    assert len(fake.requests) == 2


def test_session_keyword_routes_the_event_and_is_not_sent_to_the_provider(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
second = agentops.start_session(tags=["second"])
chat("to-first", session=session)   # 0.3's session= keyword
chat("to-current")                  # the current session: the one just started
second.end_session("Success")
out["second"] = str(second.session_id)
"""
    )
    result = run_agent(server, fake, body)
    first = export(server, result["session_id"])
    second = export(server, result["second"])
    assert list(by_tag(first["llms"])) == ["to-first"]
    assert list(by_tag(second["llms"])) == ["to-current"]
    assert all("session" not in r["body"] for r in fake.requests)


def test_without_a_session_calls_pass_straight_through(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
r = chat("nobody")
out["text"] = r.choices[0].message.content
session = agentops.start_session()
chat("somebody")
"""
    )
    result = run_agent(server, fake, body, init_kwargs="auto_start_session=False")
    assert result["text"] == "Hello world"
    data = export(server, result["session_id"])
    assert list(by_tag(data["llms"])) == ["somebody"]


def test_a_stream_abandoned_midway_is_recorded_once_with_what_was_read(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
import gc
stream = chat("abandoned", stream=True)
first = next(iter(stream))
second = next(iter(stream))
out["read"] = (second.choices[0].delta.content or "")
stream.close()
del stream, first, second
gc.collect()
with chat("closed-by-with", stream=True) as s:
    for chunk in s:
        break
"""
    )
    result = run_agent(server, fake, body)
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    assert sorted(events) == ["abandoned", "closed-by-with"]
    abandoned = events["abandoned"]
    assert abandoned["completion"]["messages"]["content"] == result["read"] == "Hel"
    assert abandoned["prompt_tokens"] is None and abandoned["cost"] is None
    assert data["errors"] == []


def test_concurrent_calls_from_threads_and_tasks_are_each_recorded_once(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(lambda i: chat(f"thread-{i}"), range(24)))
aclient = openai.AsyncOpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
async def main():
    async def one(i):
        stream = await aclient.chat.completions.create(
            model="gpt-4o-mini", messages=msgs, user=f"task-{i}", stream=True,
            stream_options={"include_usage": True})
        async for _ in stream:
            pass
    await asyncio.gather(*(one(i) for i in range(16)))
asyncio.run(main())
"""
    )
    result = run_agent(server, fake, body)
    data = export(server, result["session_id"])
    events = by_tag(data["llms"])
    expected = {f"thread-{i}" for i in range(24)} | {f"task-{i}" for i in range(16)}
    assert set(events) == expected
    assert all(e["prompt_tokens"] == 1200 for e in events.values())
    assert data["stats"]["event_counts"]["llms"] == 40


def test_an_llm_error_raised_through_a_trace_is_recorded_once(
    server: ServerProcess, fake: FakeProviders
) -> None:
    """The failed LLM call records the error; the @trace it leaves does not record it again
    (docs/sdk.md: an error is recorded once, by the deepest call it went through)."""
    body = (
        OPENAI
        + """
@agentops.trace(name="llm-fails")
def job():
    out["trace_id"] = str(agentops._recording.context_session().session_id)
    chat("fail-400")
try:
    job()
except openai.BadRequestError:
    out["raised"] = True
agentops.flush()
"""
    )
    result = run_agent(server, fake, body)
    assert result["raised"] is True
    data = export(server, result["trace_id"])
    (llm,) = data["llms"]
    (error,) = data["errors"]
    assert error["trigger_event_id"] == llm["id"] and error["error_type"] == "BadRequestError"
