"""Fake OpenAI and Anthropic HTTP APIs on 127.0.0.1, for the real client libraries.

Deterministic answers with fixed token usage (the constants below), as JSON or server-sent
events. A request tagged "fail-<status>" (OpenAI's `user`, Anthropic's `metadata.user_id`) gets that
HTTP error in the provider's error format; a tag starting "fail-stream" streams the text and then
an error; "refusal" (OpenAI chat) gets a refusal; "tool-calls" streams tool calls even without
`tools` (litellm sends tools through the mcp package, not installed); a tag starting "odd-chunk"
streams one malformed chunk among the others. Anthropic requests with
`thinking` get a thinking block before the text. A chat request tagged "hold..." gets no answer
(streamed: the first text chunk) until the client closes its connection: a call in flight, for
tests that interrupt or cancel it.
Every request body is kept in `requests`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback_http import LoopbackHTTPServer

# What the fake bills (tests compare stored tokens and costs with these).
CHAT_PROMPT, CHAT_CACHED, CHAT_COMPLETION = 1200, 1024, 300
RESP_INPUT, RESP_CACHED, RESP_OUTPUT = 1100, 512, 250
REASONING = 64  # chat and responses, only for o-series models ("o1", "o3-mini", ...)
EMBED_PER_INPUT = 8
ANTH_INPUT, ANTH_CACHE_READ, ANTH_CACHE_WRITE, ANTH_OUTPUT = 100, 2000, 500, 321
TEXT_PARTS = ("Hel", "lo", " world")
TEXT = "".join(TEXT_PARTS)
THINKING = "Let me think."  # Anthropic's extended thinking, when the request asks for it
REFUSAL = "I can't help with that."  # OpenAI chat, for a request tagged "refusal"
# Providers answer with a dated snapshot name: the event must carry the response's model.
RESPONSE_MODELS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
}


def tag(body: dict[str, Any]) -> str:
    """The scenario tag of a request: OpenAI's `user`, Anthropic's `metadata.user_id`."""
    metadata = body.get("metadata") or {}
    return str(body.get("user") or metadata.get("user_id") or "")


def _reasoning(model: str) -> int:
    return REASONING if model[:1] == "o" and model[1:2].isdigit() else 0


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _openai_error(status: int) -> dict[str, Any]:
    return {"error": {"message": f"fake error {status}", "type": "fake", "code": str(status)}}


def _anthropic_error(status: int) -> dict[str, Any]:
    kind = {429: "rate_limit_error", 500: "api_error", 400: "invalid_request_error"}
    return {"type": "error", "error": {"type": kind.get(status, "api_error"), "message": "fake"}}


# --- OpenAI -------------------------------------------------------------------------------
def chat_usage(model: str) -> dict[str, Any]:
    return {
        "prompt_tokens": CHAT_PROMPT,
        "completion_tokens": CHAT_COMPLETION,
        "total_tokens": CHAT_PROMPT + CHAT_COMPLETION,
        "prompt_tokens_details": {"cached_tokens": CHAT_CACHED, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": _reasoning(model), "audio_tokens": 0},
    }


def _tool_call(index: int | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    if index is not None:
        call["index"] = index
    return call


def chat_json(body: dict[str, Any]) -> dict[str, Any]:
    model = RESPONSE_MODELS.get(body["model"], body["model"])
    message: dict[str, Any] = {"role": "assistant", "content": TEXT, "refusal": None}
    if tag(body) == "refusal":
        message = {"role": "assistant", "content": None, "refusal": REFUSAL}
    if body.get("tools"):
        message = {"role": "assistant", "content": None, "tool_calls": [_tool_call()]}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": chat_usage(model),
    }


def chat_sse(body: dict[str, Any]) -> Iterator[bytes]:
    model = RESPONSE_MODELS.get(body["model"], body["model"])
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000}
    base["model"] = model

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _sse({**base, "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""})
    if tag(body).startswith("hold"):  # the first part, then nothing (_Handler holds)
        yield chunk({"content": TEXT_PARTS[0]})
        return
    if tag(body).startswith("odd-chunk"):  # a chunk shape no client expects, then the usual ones
        yield _sse({**base, "choices": [{"index": 0, "delta": "odd", "finish_reason": None}]})
    if body.get("tools") or tag(body) == "tool-calls":
        call = _tool_call(0)
        args = call["function"]["arguments"]
        yield chunk(
            {"tool_calls": [{**call, "function": {"name": "get_weather", "arguments": ""}}]}
        )
        yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[:5]}}]})
        yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[5:]}}]})
    else:
        for part in TEXT_PARTS:
            yield chunk({"content": part})
    if tag(body).startswith("fail-stream"):
        yield _sse({"error": {"message": "stream broke", "type": "server_error"}})
        return
    yield chunk({}, finish="stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        yield _sse({**base, "choices": [], "usage": chat_usage(model)})
    yield b"data: [DONE]\n\n"


def response_json(body: dict[str, Any]) -> dict[str, Any]:
    model = RESPONSE_MODELS.get(body["model"], body["model"])
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed",
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": TEXT, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": RESP_INPUT,
            "input_tokens_details": {"cached_tokens": RESP_CACHED},
            "output_tokens": RESP_OUTPUT,
            "output_tokens_details": {"reasoning_tokens": _reasoning(model)},
            "total_tokens": RESP_INPUT + RESP_OUTPUT,
        },
    }


def response_sse(body: dict[str, Any]) -> Iterator[bytes]:
    final = response_json(body)
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    yield _sse({"type": "response.created", "sequence_number": 0, "response": started})
    for n, part in enumerate(TEXT_PARTS, start=1):
        delta = {
            "type": "response.output_text.delta",
            "sequence_number": n,
            "item_id": "msg_fake",
            "output_index": 0,
            "content_index": 0,
            "delta": part,
            "logprobs": [],
        }
        yield _sse(delta)
    yield _sse({"type": "response.completed", "sequence_number": 9, "response": final})


def embeddings_json(body: dict[str, Any]) -> dict[str, Any]:
    given = body["input"]
    items = [given] if isinstance(given, str) else list(given)
    return {
        "object": "list",
        "model": body["model"],
        "data": [
            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
            for i in range(len(items))
        ],
        "usage": {"prompt_tokens": EMBED_PER_INPUT * len(items), "total_tokens": 0},
    }


# --- Anthropic ----------------------------------------------------------------------------
def anthropic_usage(output: int = ANTH_OUTPUT) -> dict[str, Any]:
    return {
        "input_tokens": ANTH_INPUT,
        "cache_read_input_tokens": ANTH_CACHE_READ,
        "cache_creation_input_tokens": ANTH_CACHE_WRITE,
        "output_tokens": output,
    }


def message_json(body: dict[str, Any]) -> dict[str, Any]:
    model = RESPONSE_MODELS.get(body["model"], body["model"])
    content: list[dict[str, Any]] = [{"type": "text", "text": TEXT}]
    if body.get("thinking"):
        content.insert(0, {"type": "thinking", "thinking": THINKING, "signature": "sig"})
    if body.get("tools"):
        tool = {"type": "tool_use", "id": "toolu_1", "name": "get_weather"}
        content.append({**tool, "input": {"city": "Paris"}})
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": anthropic_usage(),
    }


def message_sse(body: dict[str, Any]) -> Iterator[bytes]:
    message = message_json(body)
    start = {**message, "content": [], "stop_reason": None, "usage": anthropic_usage(1)}
    yield _sse({"type": "message_start", "message": start}, "message_start")
    first = 0  # the text block's index: 1 when a thinking block comes first
    if body.get("thinking"):
        first = 1
        head, rest = THINKING[:6], THINKING[6:]
        thinking = {"type": "thinking", "thinking": head, "signature": ""}
        start_event = {"type": "content_block_start", "index": 0, "content_block": thinking}
        yield _sse(start_event, "content_block_start")
        delta = {"type": "content_block_delta", "index": 0}
        yield _sse(
            {**delta, "delta": {"type": "thinking_delta", "thinking": rest}}, "content_block_delta"
        )
        yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    block = {"type": "content_block_start", "index": first}
    yield _sse({**block, "content_block": {"type": "text", "text": ""}}, "content_block_start")
    for part in TEXT_PARTS:
        delta = {"type": "content_block_delta", "index": first}
        yield _sse({**delta, "delta": {"type": "text_delta", "text": part}}, "content_block_delta")
    if tag(body).startswith("fail-stream"):
        yield _sse(_anthropic_error(500), "error")
        return
    yield _sse({"type": "content_block_stop", "index": first}, "content_block_stop")
    if body.get("tools"):
        tool = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
        yield _sse({**block, "index": first + 1, "content_block": tool}, "content_block_start")
        for piece in ('{"city": ', '"Paris"}'):
            delta = {"type": "input_json_delta", "partial_json": piece}
            event = {"type": "content_block_delta", "index": first + 1, "delta": delta}
            yield _sse(event, "content_block_delta")
        yield _sse({"type": "content_block_stop", "index": first + 1}, "content_block_stop")
    end = {"stop_reason": "end_turn", "stop_sequence": None}
    usage = {"output_tokens": ANTH_OUTPUT}
    yield _sse({"type": "message_delta", "delta": end, "usage": usage}, "message_delta")
    yield _sse({"type": "message_stop"}, "message_stop")


# --- the server ---------------------------------------------------------------------------
ROUTES = {
    "/v1/chat/completions": ("openai", chat_json, chat_sse),
    "/v1/responses": ("openai", response_json, response_sse),
    "/v1/embeddings": ("openai", embeddings_json, None),
    "/v1/messages": ("anthropic", message_json, message_sse),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0]
        self.server.fake.requests.append({"path": path, "body": body})
        route = ROUTES.get(path)
        if route is None:
            return self._json(404, {"error": {"message": f"no route {path}"}})
        flavor, as_json, as_sse = route
        scenario = tag(body)
        if scenario.startswith("fail-") and scenario[5:].isdigit():
            status = int(scenario[5:])
            error = _openai_error(status) if flavor == "openai" else _anthropic_error(status)
            return self._json(status, error)
        hold = scenario.startswith("hold")
        if body.get("stream") and as_sse is not None:
            self._stream(as_sse(body))
        elif not hold:
            self._json(200, as_json(body))
        if hold:
            self._hold()
        return None

    def _hold(self) -> None:
        """Answer nothing more until the client closes the connection (or the server does)."""
        self.wfile.flush()
        try:
            self.rfile.read()
        except OSError:
            pass
        self.close_connection = True

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, chunks: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(chunk)
        self.wfile.flush()
        self.close_connection = True


class _Server(LoopbackHTTPServer):
    # socketserver's default listen backlog is 5: 16 concurrent first connections (the async
    # test in tests/integrations/test_lifecycle.py) on a loaded machine overflowed it, and a
    # client with max_retries=0 saw its connection reset (httpx.ReadError).
    request_queue_size = 128
    fake: FakeProviders


@dataclass
class FakeProviders:
    """Both fake APIs on one loopback port. Use as a context manager."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> FakeProviders:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
