"""Time the SDK adds to one LLM call, against a zero-latency fake provider.

    .venv/bin/python benchmarks/llm_overhead.py [--calls 300] [--rounds 20]

The real openai and anthropic clients talk to an in-process MockTransport (of httpx or httpx2,
whichever the installed release is built on) that answers
with the fake providers' bodies (tests/support/fake_providers.py) at once, so the call time is
the clients' own work plus ours. Each round times `--calls` calls with the integrations set up
(agentops.init against a zero-latency in-process server) and the same calls with them torn down
(stop_instrumenting), in alternating order; the overhead is the median of the per-round
differences in CPU time of the calling thread (paired rounds cancel the drift of a busy
machine). The exporter thread's serialization and sending (off the caller's path) is not in it.
Also prints the pricing cost per event (Pricer.price vs genai-prices' calc_price).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anthropic
import openai
from genai_prices import Usage, calc_price

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agentops
from agentops._transport import Request, Response
from agentops.integrations import setup_integrations
from agentops.integrations._call import start_call
from agentops.integrations._streams import observe
from agentops.integrations.openai import ChatStream, _chat_result, chat_prompt
from agentops_server.pricing import Pricer, TokenUsage
from tests.support import fake_providers as fp

MESSAGES: Any = [{"role": "user", "content": "Say hi"}]


class NullServer:
    """A zero-latency AgentOps server that accepts everything without reading it, so the
    figures hold only the SDK's work (batching, serialization), not a server's."""

    def __init__(self) -> None:
        self.batches = 0

    def send(self, request: Request) -> Response:
        if request.path.endswith("create_session"):
            return Response(200, b'{"status":"success","jwt":"t"}')
        if request.path.endswith("update_session"):
            return Response(200, b'{"status":"success","token_cost":"0"}')
        self.batches += 1
        return Response(200, b'{"status":"success"}')


def answer(path: str, content: bytes) -> tuple[bytes, str]:
    body = json.loads(content)
    _, as_json, as_sse = fp.ROUTES[path]
    if body.get("stream") and as_sse is not None:
        return b"".join(as_sse(body)), "text/event-stream"
    return json.dumps(as_json(body)).encode(), "application/json"


def httpx_of(library: ModuleType) -> Any:
    """The httpx generation a provider library is built on: `httpx2` (openai 3.x, anthropic
    1.x and later) or `httpx` (older releases). Typed Any: either may be installed."""
    return importlib.import_module(library.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


def fake_http_client(library: ModuleType, *, is_async: bool = False) -> Any:
    """An HTTP client for `library` whose transport answers at once, in process."""
    http = httpx_of(library)

    def respond(request: Any) -> Any:
        data, kind = answer(request.url.path, request.content)
        return http.Response(200, content=data, headers={"content-type": kind})

    client = http.AsyncClient if is_async else http.Client
    return client(transport=http.MockTransport(respond))


def clients() -> dict[str, Callable[[], Any]]:
    oc = openai.OpenAI(base_url="http://fake/v1", api_key="k", http_client=fake_http_client(openai))
    ac = anthropic.Anthropic(
        base_url="http://fake", api_key="k", http_client=fake_http_client(anthropic)
    )
    aoc = openai.AsyncOpenAI(
        base_url="http://fake/v1",
        api_key="k",
        http_client=fake_http_client(openai, is_async=True),
    )
    loop = asyncio.new_event_loop()

    def chat() -> Any:
        return oc.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    def chat_stream() -> Any:
        stream = oc.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass

    def chat_async() -> Any:
        return loop.run_until_complete(
            aoc.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        )

    def messages() -> Any:
        return ac.messages.create(
            model="claude-3-5-sonnet-latest",
            max_tokens=64,
            messages=MESSAGES,
        )

    def messages_stream() -> Any:
        for _ in ac.messages.create(
            model="claude-3-5-sonnet-latest",
            max_tokens=64,
            messages=MESSAGES,
            stream=True,
        ):
            pass

    return {
        "openai chat": chat,
        "openai chat, stream (6 chunks)": chat_stream,
        "openai chat, async": chat_async,
        "anthropic messages": messages,
        "anthropic messages, stream (9 events)": messages_stream,
    }


def per_call(fn: Callable[[], Any], calls: int) -> float:
    """CPU seconds the calling thread spends per call (time.thread_time): immune to other
    processes on a busy machine; the calls are CPU-bound (the fake answers in-process)."""
    start = time.thread_time()
    for _ in range(calls):
        fn()
    return (time.thread_time() - start) / calls


def recording_path(calls: int) -> float:
    """Our part of an instrumented chat call, without the HTTP round trip: what the wrapper does
    before and after calling the library (median of 5 runs, µs per call)."""
    completion = openai.types.chat.ChatCompletion.model_validate(
        fp.chat_json({"model": "gpt-4o-mini"})
    )
    kwargs = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2}

    def one() -> None:
        call = start_call("openai", dict(kwargs), None, ("messages",), chat_prompt)
        assert call is not None
        _chat_result(call, completion)

    return statistics.median(per_call(one, calls) for _ in range(5)) * 1e6


def stream_path(calls: int) -> float:
    """Our part of a streamed chat call (6 chunks + usage): wrap, observe each chunk, record."""
    chunks = [
        openai.types.chat.ChatCompletionChunk.model_validate(json.loads(raw[6:]))
        for raw in fp.chat_sse({"model": "gpt-4o-mini", "stream_options": {"include_usage": True}})
        if raw.startswith(b"data: {")
    ]
    kwargs = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}

    def one() -> None:
        call = start_call("openai", dict(kwargs), None, ("messages",), chat_prompt)
        assert call is not None
        for _ in observe(call, iter(chunks), ChatStream()):
            pass

    return statistics.median(per_call(one, calls) for _ in range(5)) * 1e6


def anthropic_paths(calls: int) -> tuple[float, float]:
    """Our part of an Anthropic message call, and of a streamed one (8 events)."""
    from anthropic.types import Message, RawMessageStreamEvent
    from pydantic import TypeAdapter

    from agentops.integrations import anthropic as ours

    request = {"model": "claude-3-5-sonnet-latest"}
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    events = [
        adapter.validate_python(json.loads(raw.split(b"data: ", 1)[1]))
        for raw in fp.message_sse(request)
    ]
    message = Message.model_validate(fp.message_json(request))
    kwargs = {"model": "claude-3-5-sonnet-latest", "messages": MESSAGES, "max_tokens": 64}

    def one() -> None:
        call = start_call("anthropic", dict(kwargs), None, ours.PROMPT_KEYS, ours.prompt)
        assert call is not None
        ours._result(call, message)

    def one_stream() -> None:
        call = start_call("anthropic", dict(kwargs), None, ours.PROMPT_KEYS, ours.prompt)
        assert call is not None
        for _ in observe(call, iter(events), ours.MessageStream()):
            pass

    plain = statistics.median(per_call(one, calls) for _ in range(5)) * 1e6
    streamed = statistics.median(per_call(one_stream, calls) for _ in range(5)) * 1e6
    return plain, streamed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    transport = NullServer()
    agentops.init(api_key=str(uuid.uuid4()), transport=transport, max_queue_size=1_000_000)
    cases = clients()
    on: dict[str, list[float]] = {name: [] for name in cases}
    off: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm up
        per_call(fn, 50)
    for name, fn in cases.items():
        for round_ in range(args.rounds):  # alternate which goes first, pair the two
            for instrumented in (round_ % 2 == 0, round_ % 2 == 1):
                if instrumented:
                    setup_integrations()
                    on[name].append(per_call(fn, args.calls))
                else:
                    agentops.stop_instrumenting()
                    off[name].append(per_call(fn, args.calls))
    setup_integrations()
    recording = recording_path(args.calls * 5)
    streaming = stream_path(args.calls * 5)
    anthropic_plain, anthropic_streamed = anthropic_paths(args.calls * 5)
    agentops.end_session("Success")

    print(f"{args.rounds} rounds x {args.calls} calls per case ({transport.batches} batches sent)")
    print("CPU µs per call on the caller's thread, medians over the rounds; overhead = median of")
    print("the per-round differences [interquartile range]")
    print(f"{'case':40} {'plain':>8} {'instrumented':>13} {'overhead':>9} {'IQR':>17}")
    for name in cases:
        diffs = sorted((a - b) * 1e6 for a, b in zip(on[name], off[name], strict=True))
        q1, _, q3 = statistics.quantiles(diffs, n=4)
        plain = statistics.median(off[name]) * 1e6
        inst = statistics.median(on[name]) * 1e6
        overhead = statistics.median(diffs)
        print(f"{name:40} {plain:8.1f} {inst:13.1f} {overhead:9.1f} [{q1:7.1f}, {q3:7.1f}]")

    print("our code alone, CPU µs per call on the caller's thread (median of 5 runs):")
    print(f"  chat completion: build the event from the response, queue it   {recording:6.1f}")
    print(f"  streamed chat (7 chunks): observe each chunk, record at the end {streaming:6.1f}")
    print(f"  anthropic message: the same{'':36} {anthropic_plain:6.1f}")
    print(f"  anthropic stream (8 events): the same{'':26} {anthropic_streamed:6.1f}")

    pricer = Pricer()
    usage = TokenUsage(2600, 321, 2000, 500)
    gp_usage = Usage(
        input_tokens=2600, output_tokens=321, cache_read_tokens=2000, cache_write_tokens=500
    )
    model = "claude-3-5-sonnet-20241022"
    n = 20_000
    fast = per_call(lambda: pricer.price("p", model, None, usage), n) * 1e6
    slow = per_call(lambda: calc_price(gp_usage, model), n // 10) * 1e6
    print(f"pricing one event: Pricer.price {fast:.1f} µs, genai_prices.calc_price {slow:.1f} µs")


if __name__ == "__main__":
    main()
