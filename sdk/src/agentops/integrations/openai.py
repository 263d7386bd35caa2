"""OpenAI (openai >= 1.0): chat completions, the Responses API and embeddings, sync and async,
streamed or not. The `.stream()` helpers call `create` and are covered through it.

A chat stream reports tokens only with stream_options={"include_usage": True}; without it the
event's token counts stay None (unknown), and the server marks the cost unknown.
"""

from __future__ import annotations

from typing import Any

from agentops.integrations import DidNotEnable, Integration
from agentops.integrations._call import LLMCall, as_sent
from agentops.integrations._patch import Patches, async_wrapper, sync_wrapper
from agentops.integrations._streams import instrument_stream, patch_close

PROVIDER = "openai"


class _Types:
    """The library's response classes, looked up once by setup_once() (not on every call)."""

    stream: Any = type(None)
    async_stream: Any = type(None)
    raw: Any = type(None)


def _load_types() -> None:
    from openai import AsyncStream, Stream
    from openai._legacy_response import LegacyAPIResponse

    _Types.stream, _Types.async_stream, _Types.raw = Stream, AsyncStream, LegacyAPIResponse


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _detail(usage: Any, details: str, field: str) -> int | None:
    return _int(getattr(getattr(usage, details, None), field, None))


# --- chat completions ---------------------------------------------------------------------
def chat_prompt(kwargs: dict[str, Any]) -> Any:
    return as_sent(kwargs.get("messages"))


def chat_usage(usage: Any) -> dict[str, Any]:
    if usage is None:
        return {}
    # Inlined (no _int/_detail calls): this runs on every chat call.
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None)
    reasoning = getattr(getattr(usage, "completion_tokens_details", None), "reasoning_tokens", None)
    return {
        "prompt_tokens": prompt if isinstance(prompt, int) else None,
        "completion_tokens": completion if isinstance(completion, int) else None,
        "cache_read_tokens": cached if isinstance(cached, int) else None,
        "reasoning_tokens": reasoning if isinstance(reasoning, int) else None,
    }


def chat_message(message: Any) -> dict[str, Any]:
    """The assistant message as a plain dict (content, tool calls, refusal)."""
    out: dict[str, Any] = {"role": getattr(message, "role", None) or "assistant"}
    out["content"] = getattr(message, "content", None)
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": getattr(call, "type", "function"),
                "function": {
                    "name": getattr(getattr(call, "function", None), "name", None),
                    "arguments": getattr(getattr(call, "function", None), "arguments", None),
                },
            }
            for call in tool_calls
        ]
    refusal = getattr(message, "refusal", None)
    if refusal:
        out["refusal"] = refusal
    return out


class ChatStream:
    """Accumulates chat completion chunks (choice 0) into one assistant message."""

    __slots__ = ("content", "model", "role", "tool_calls", "usage")

    def __init__(self) -> None:
        self.model: str | None = None
        self.role: str | None = None
        self.content: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        if chunk.model:
            self.model = chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices or ():
            if choice.index != 0 or choice.delta is None:
                continue
            delta = choice.delta
            if delta.role:
                self.role = delta.role
            if delta.content:
                self.content.append(delta.content)
            for part in delta.tool_calls or ():
                slot = self.tool_calls.setdefault(
                    part.index,
                    {"id": None, "type": "function", "function": {"name": None, "arguments": ""}},
                )
                if part.id:
                    slot["id"] = part.id
                function = part.function
                if function is not None:
                    if function.name:
                        slot["function"]["name"] = function.name
                    if function.arguments:
                        slot["function"]["arguments"] += function.arguments

    def gathered(self) -> dict[str, Any]:
        completion: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": "".join(self.content) if self.content else None,
        }
        if self.tool_calls:
            completion["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        return {"model": self.model, "completion": completion, **chat_usage(self.usage)}


def _chat_result(call: LLMCall, result: Any) -> Any:
    if isinstance(result, _Types.stream):
        return instrument_stream(call, result, ChatStream(), is_async=False)
    if isinstance(result, _Types.async_stream):
        return instrument_stream(call, result, ChatStream(), is_async=True)
    if isinstance(result, _Types.raw):  # with_raw_response: record the parsed body
        _chat_result(call, result.parse())
        return result
    choices = getattr(result, "choices", None)
    call.finish(
        model=getattr(result, "model", None),
        completion=chat_message(choices[0].message) if choices else None,
        **chat_usage(getattr(result, "usage", None)),
    )
    return result


def _parsed(result: Any) -> Any:
    """The parsed body of a `with_raw_response` result (cached by openai), else the result."""
    return result.parse() if isinstance(result, _Types.raw) else result


# --- responses API ------------------------------------------------------------------------
def responses_prompt(kwargs: dict[str, Any]) -> Any:
    prompt: list[Any] = []
    instructions = kwargs.get("instructions")
    if instructions:
        prompt.append({"role": "system", "content": instructions})
    given = kwargs.get("input")
    if isinstance(given, str):
        prompt.append({"role": "user", "content": given})
    elif given is not None:
        prompt.extend(given)
    return as_sent(prompt)


def response_fields(response: Any) -> dict[str, Any]:
    usage = getattr(response, "usage", None)
    tool_calls = [
        {
            "id": getattr(item, "call_id", None),
            "type": "function",
            "function": {"name": item.name, "arguments": item.arguments},
        }
        for item in getattr(response, "output", None) or ()
        if getattr(item, "type", None) == "function_call"
    ]
    completion: dict[str, Any] = {"role": "assistant", "content": response.output_text or None}
    if tool_calls:
        completion["tool_calls"] = tool_calls
    fields: dict[str, Any] = {"model": getattr(response, "model", None), "completion": completion}
    if usage is not None:
        fields["prompt_tokens"] = _int(getattr(usage, "input_tokens", None))
        fields["completion_tokens"] = _int(getattr(usage, "output_tokens", None))
        fields["cache_read_tokens"] = _detail(usage, "input_tokens_details", "cached_tokens")
        fields["reasoning_tokens"] = _detail(usage, "output_tokens_details", "reasoning_tokens")
    return fields


class ResponsesStream:
    """Takes the final response from response.completed (or .incomplete / .failed)."""

    __slots__ = ("final", "model", "text")

    def __init__(self) -> None:
        self.final: Any = None
        self.model: str | None = None
        self.text: list[str] = []

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            self.text.append(event.delta)
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = event.response
        elif kind == "response.created":
            self.model = getattr(event.response, "model", None)

    def gathered(self) -> dict[str, Any]:
        if self.final is not None:
            return response_fields(self.final)
        text = "".join(self.text) or None
        return {"model": self.model, "completion": {"role": "assistant", "content": text}}


def _responses_result(call: LLMCall, result: Any) -> Any:
    if isinstance(result, _Types.stream):
        return instrument_stream(call, result, ResponsesStream(), is_async=False)
    if isinstance(result, _Types.async_stream):
        return instrument_stream(call, result, ResponsesStream(), is_async=True)
    parsed = _parsed(result)
    if parsed is not result:
        _responses_result(call, parsed)
        return result
    call.finish(**response_fields(result))
    return result


# --- embeddings ---------------------------------------------------------------------------
def embeddings_prompt(kwargs: dict[str, Any]) -> Any:
    return as_sent(kwargs.get("input"))


def _embeddings_result(call: LLMCall, result: Any) -> Any:
    parsed = _parsed(result)
    usage = getattr(parsed, "usage", None)
    prompt_tokens = _int(getattr(usage, "prompt_tokens", None))
    call.finish(
        model=getattr(parsed, "model", None),
        completion=None,
        prompt_tokens=prompt_tokens,
        completion_tokens=0 if prompt_tokens is not None else None,
    )
    return result


class OpenAIIntegration(Integration):
    identifier = "openai"
    module = "openai"

    def __init__(self) -> None:
        self.patches = Patches()

    def setup_once(self) -> None:
        try:
            import openai
            from openai.resources import embeddings
            from openai.resources.chat import completions
            from openai.resources.responses import responses
        except ImportError as exc:
            raise DidNotEnable(f"openai is not installed or too old: {exc}") from exc
        if int(openai.__version__.split(".")[0]) < 1:
            raise DidNotEnable(f"openai {openai.__version__} < 1.0 is not supported")
        try:
            _load_types()
        except ImportError as exc:
            raise DidNotEnable(f"unsupported openai {openai.__version__}: {exc}") from exc
        p = self.patches
        chat = (PROVIDER, ("messages",), chat_prompt, _chat_result)
        resp = (PROVIDER, ("input", "instructions"), responses_prompt, _responses_result)
        emb = (PROVIDER, ("input",), embeddings_prompt, _embeddings_result)
        for name in ("create", "parse"):
            p.apply(completions.Completions, name, lambda f: sync_wrapper(f, *chat))
            p.apply(completions.AsyncCompletions, name, lambda f: async_wrapper(f, *chat))
            p.apply(responses.Responses, name, lambda f: sync_wrapper(f, *resp))
            p.apply(responses.AsyncResponses, name, lambda f: async_wrapper(f, *resp))
        p.apply(embeddings.Embeddings, "create", lambda f: sync_wrapper(f, *emb))
        p.apply(embeddings.AsyncEmbeddings, "create", lambda f: async_wrapper(f, *emb))
        patch_close(p, _Types.stream, _Types.async_stream)

    def teardown(self) -> None:
        self.patches.restore()
