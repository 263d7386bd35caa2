"""Calls interrupted while they wait for the provider: a Ctrl+C (KeyboardInterrupt) or an
asyncio task cancelled (asyncio.wait_for, asyncio.run's Ctrl+C). Each is recorded with what the
provider delivered, plus an error event naming the interruption, and the exception reaches the
program unchanged. The fake provider holds these requests ("hold..." tags): nothing is timed."""

from __future__ import annotations

from typing import Any

from tests.integrations.conftest import by_tag, export, run_agent
from tests.support import fake_providers as fp
from tests.support.fake_providers import FakeProviders
from tests.support.server import ServerProcess

# Ctrl+C for the main thread once `ready` is set and, with `code`, once it waits for the
# provider inside `code`: its innermost frame is httpcore's (or httpcore2's) socket read.
# Elsewhere under `code` the KeyboardInterrupt could land in a library's bookkeeping instead: in
# litellm's executor.submit() starting its logging thread (Thread.start waits for the thread, the
# longer the busier the machine), that thread is never registered with concurrent.futures, which
# then never tells it to stop, and the process hangs at exit waiting for it. With `idle_loop`,
# once the main thread's event loop waits in select() for the provider: a Ctrl+C there cancels
# asyncio.run()'s main task at an await, as one pressed while a program waits would.
CTRL_C = """
import signal, sys, threading
def reading_from_provider(frame):
    name = frame.f_globals.get("__name__", "")
    return frame.f_code.co_name == "read" and name.startswith("httpcore") and (
        name.endswith("._backends.sync"))
def awaiting_in_event_loop(frame):
    return frame.f_code.co_name == "select" and frame.f_globals.get("__name__") == "selectors"
def ctrl_c_when(code=None, ready=None, idle_loop=False):
    main = threading.main_thread().ident
    def waiting_in_code():
        frame = sys._current_frames().get(main)
        if frame is None or not reading_from_provider(frame):
            return False
        while frame is not None:
            if frame.f_code is code:
                return True
            frame = frame.f_back
        return False
    def watch():
        if ready is not None:
            ready.wait()
        while code is not None and not waiting_in_code():
            threading.Event().wait(0.01)
        while idle_loop and not awaiting_in_event_loop(sys._current_frames()[main]):
            threading.Event().wait(0.01)
        signal.pthread_kill(main, signal.SIGINT)
    threading.Thread(target=watch, daemon=True).start()
"""

OPENAI = (
    CTRL_C
    + """
import openai
from agentops.integrations import _streams
client = openai.OpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
aclient = openai.AsyncOpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
msgs = [{"role": "user", "content": "hi"}]
STREAM = dict(stream=True, stream_options={"include_usage": True})

async def read_stream(tag, first_read=None):
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs,
                                                   user=tag, **STREAM)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content and first_read is not None:
            first_read.set()

async def cancelled():
    first_read = asyncio.Event()
    task = asyncio.create_task(read_stream("hold-cancelled-stream", first_read))
    await first_read.wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        out["cancelled_stream"] = "CancelledError"
    try:
        await asyncio.wait_for(aclient.chat.completions.create(
            model="gpt-4o-mini", messages=msgs, user="hold-wait-for"), 0.2)
    except TimeoutError:
        out["wait_for"] = "TimeoutError"
asyncio.run(cancelled())

first_read = threading.Event()
ctrl_c_when(code=_streams.observe.__code__, ready=first_read)
try:
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=msgs,
                                                user="hold-ctrl-c-stream", **STREAM):
        if chunk.choices and chunk.choices[0].delta.content:
            first_read.set()
except KeyboardInterrupt:
    out["ctrl_c_stream"] = "KeyboardInterrupt"

first_read = threading.Event()
async def main():
    await read_stream("hold-asyncio-run", first_read)
ctrl_c_when(ready=first_read, idle_loop=True)
try:
    asyncio.run(main())
except KeyboardInterrupt:
    out["asyncio_run"] = "KeyboardInterrupt"
"""
)


def _interrupted_calls(data: dict[str, Any], expected: dict[str, str]) -> dict[str, Any]:
    """The session's LLM calls by tag: one per expected tag, each with an error naming its
    interruption, the streams with what they delivered before it."""
    events = by_tag(data["llms"])
    errors = {e["trigger_event_id"]: e["error_type"] for e in data["errors"]}
    assert sorted(events) == sorted(expected)
    for tag, error_type in expected.items():
        event = events[tag]
        assert errors[event["id"]] == error_type, tag
        if tag != "hold-wait-for":  # the streams keep what they delivered
            assert event["completion"]["messages"]["content"] == fp.TEXT_PARTS[0], tag
    assert len(data["errors"]) == len(expected)
    return events


def test_cancelled_and_interrupted_openai_calls_are_recorded_and_the_exception_goes_on(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, OPENAI)
    assert result["cancelled_stream"] == "CancelledError"
    assert result["wait_for"] == "TimeoutError"
    assert result["ctrl_c_stream"] == "KeyboardInterrupt"
    assert result["asyncio_run"] == "KeyboardInterrupt"
    expected = {
        "hold-cancelled-stream": "CancelledError",
        "hold-wait-for": "CancelledError",
        "hold-ctrl-c-stream": "KeyboardInterrupt",
        "hold-asyncio-run": "CancelledError",
    }
    events = _interrupted_calls(export(server, result["session_id"]), expected)
    for tag, event in events.items():
        assert event["prompt_tokens"] is None and event["cost"] is None, tag  # not known


LITELLM = (
    CTRL_C
    + """
import litellm
msgs = [{"role": "user", "content": "hi"}]
OPENAI = dict(api_base=FAKE + "/v1", api_key="sk-fake", max_retries=0, num_retries=0,
              model="openai/gpt-4o-mini", messages=msgs)

async def cancelled():
    first_read = asyncio.Event()
    async def read():
        stream = await litellm.acompletion(user="hold-cancelled-stream", stream=True, **OPENAI)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first_read.set()
    task = asyncio.create_task(read())
    await first_read.wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        out["cancelled_stream"] = "CancelledError"
    try:
        await asyncio.wait_for(litellm.acompletion(user="hold-wait-for", **OPENAI), 0.2)
    except TimeoutError:
        out["wait_for"] = "TimeoutError"
asyncio.run(cancelled())

stream = litellm.completion(user="hold-ctrl-c-stream", stream=True, **OPENAI)
first_read = threading.Event()
ctrl_c_when(code=type(stream).__next__.__code__, ready=first_read)
try:
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first_read.set()
except KeyboardInterrupt:
    out["ctrl_c_stream"] = "KeyboardInterrupt"
"""
)


def test_cancelled_and_interrupted_litellm_calls_are_recorded_and_the_exception_goes_on(
    server: ServerProcess, fake: FakeProviders
) -> None:
    result = run_agent(server, fake, LITELLM)
    assert result["cancelled_stream"] == "CancelledError"
    assert result["wait_for"] == "TimeoutError"
    assert result["ctrl_c_stream"] == "KeyboardInterrupt"
    expected = {
        "hold-cancelled-stream": "CancelledError",
        "hold-wait-for": "CancelledError",
        "hold-ctrl-c-stream": "KeyboardInterrupt",
    }
    events = _interrupted_calls(export(server, result["session_id"]), expected)
    assert {tag: e["provider"] for tag, e in events.items()} == dict.fromkeys(expected, "openai")
