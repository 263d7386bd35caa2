"""Anthropic (anthropic >= 0.32): messages.create sync and async, stream=True, and the
messages.stream() helper (sync and async).

Anthropic's input_tokens EXCLUDE cache reads and writes; the event's prompt_tokens is the total
input (input + cache_read + cache_creation), with the cache parts in cache_read_tokens and
cache_write_tokens, the wire's convention.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentops.integrations import DidNotEnable, Integration
from agentops.integrations._call import LLMCall, as_sent, should_record, start_call
from agentops.integrations._patch import Original, Patches, async_wrapper, sync_wrapper
from agentops.integrations._streams import instrument_stream, patch_close

PROVIDER = "anthropic"
PROMPT_KEYS = ("messages", "system")
_CALL_ATTR = "_agentops_call"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def prompt(kwargs: dict[str, Any]) -> Any:
    messages = list(kwargs.get("messages") or ())
    system = kwargs.get("system")
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return as_sent(messages)


def usage_fields(usage: Any) -> dict[str, Any]:
    """Token fields in the wire's convention from an Anthropic usage object."""
    if usage is None:
        return {}
    uncached = _int(getattr(usage, "input_tokens", None))
    read = _int(getattr(usage, "cache_read_input_tokens", None))
    write = _int(getattr(usage, "cache_creation_input_tokens", None))
    output = _int(getattr(usage, "output_tokens", None))
    return {
        "prompt_tokens": None if uncached is None else uncached + (read or 0) + (write or 0),
        "completion_tokens": output,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
    }


def _tool_call(block_id: Any, name: Any, arguments: str) -> dict[str, Any]:
    return {"id": block_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(content: Any) -> dict[str, Any]:
    """Text blocks joined, tool_use blocks as tool_calls, thinking as reasoning."""
    text: list[str] = []
    thinking: list[str] = []
    tools: list[dict[str, Any]] = []
    for block in content or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            text.append(block.text)
        elif kind == "tool_use":
            tools.append(_tool_call(block.id, block.name, json.dumps(block.input)))
        elif kind == "thinking":
            thinking.append(block.thinking)
    out: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if tools:
        out["tool_calls"] = tools
    if thinking:
        out["reasoning"] = "".join(thinking)
    return out


class MessageStream:
    """Accumulates raw message stream events into one message."""

    __slots__ = ("blocks", "ended", "model", "usage")

    def __init__(self) -> None:
        self.model: str | None = None
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.ended = False  # message_delta seen: output_tokens is final

    def _merge_usage(self, usage: Any) -> None:
        for name in (
            "input_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "output_tokens",
        ):
            value = getattr(usage, name, None)
            if value is not None:
                self.usage[name] = value

    def add(self, event: Any) -> None:
        kind = event.type
        if kind == "content_block_delta":
            block = self.blocks.get(event.index)
            if block is None:
                return
            delta = event.delta
            dtype = delta.type
            if dtype == "text_delta":
                block["text"].append(delta.text)
            elif dtype == "input_json_delta":
                block["text"].append(delta.partial_json)
            elif dtype == "thinking_delta":
                block["text"].append(delta.thinking)
        elif kind == "content_block_start":
            cb = event.content_block
            btype = cb.type
            started: dict[str, Any] = {"type": btype, "id": None, "name": None, "text": []}
            if btype == "text" and cb.text:
                started["text"].append(cb.text)
            elif btype == "thinking" and cb.thinking:
                started["text"].append(cb.thinking)
            elif btype == "tool_use":
                started["id"], started["name"] = cb.id, cb.name
            self.blocks[event.index] = started
        elif kind == "message_start":
            self.model = event.message.model
            self._merge_usage(event.message.usage)
        elif kind == "message_delta":
            self._merge_usage(event.usage)
            self.ended = True

    def gathered(self) -> dict[str, Any]:
        text: list[str] = []
        thinking: list[str] = []
        tools: list[dict[str, Any]] = []
        for index in sorted(self.blocks):
            block = self.blocks[index]
            joined = "".join(block["text"])
            if block["type"] == "text":
                text.append(joined)
            elif block["type"] == "tool_use":
                tools.append(_tool_call(block["id"], block["name"], joined or "{}"))
            elif block["type"] == "thinking":
                thinking.append(joined)
        out: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
        if tools:
            out["tool_calls"] = tools
        if thinking:
            out["reasoning"] = "".join(thinking)
        fields: dict[str, Any] = {"model": self.model, "completion": out}
        if "input_tokens" in self.usage:
            fields.update(usage_fields(_Usage(self.usage)))
            if not self.ended:  # message_start's output count is not the final one
                fields["completion_tokens"] = None
        return fields


class _Usage:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        return None


class _Types:
    """The library's response classes, looked up once by setup_once()."""

    stream: Any = type(None)
    async_stream: Any = type(None)
    raw: Any = type(None)
    async_raw: Any = type(None)
    any_raw: Any = type(None)


def _result(call: LLMCall, result: Any) -> Any:
    if isinstance(result, _Types.stream):
        return instrument_stream(call, result, MessageStream(), is_async=False)
    if isinstance(result, _Types.async_stream):
        return instrument_stream(call, result, MessageStream(), is_async=True)
    if isinstance(result, _Types.raw):  # with_raw_response (parse() is cached)
        _result(call, result.parse())
        return result
    if isinstance(result, _Types.any_raw):  # a body not read (with_streaming_response)
        call.finish()
        return result
    call.finish(
        model=getattr(result, "model", None),
        completion=completion(getattr(result, "content", None)),
        **usage_fields(getattr(result, "usage", None)),
    )
    return result


async def _record_async_raw(call: LLMCall, result: Any) -> bool:
    """An async with_raw_response answer, its body read already: record the message it holds
    (parse() is cached, the caller's own parse() gets the same object). A response still to be
    read (with_streaming_response) is left to _result: its body is the caller's to read."""
    if not isinstance(result, _Types.async_raw):
        return False
    if not getattr(getattr(result, "http_response", None), "is_closed", False):
        return False
    _result(call, await result.parse())
    return True


# --- the messages.stream() helper ---------------------------------------------------------
def _stream_method(original: Original) -> Original:
    """messages.stream(...) returns a manager; the request happens when it is entered."""

    def stream(*args: Any, **kwargs: Any) -> Any:
        session = kwargs.pop("session", None)
        manager = original(*args, **kwargs)
        if should_record(session):
            call = start_call(PROVIDER, kwargs, session, PROMPT_KEYS, prompt)
            if call is not None:
                setattr(manager, _CALL_ATTR, call)
        return manager

    return stream


def _enter(original: Original) -> Original:
    def __enter__(self: Any) -> Any:
        call: LLMCall | None = self.__dict__.pop(_CALL_ATTR, None)
        if call is None:
            return original(self)
        try:
            stream = original(self)
        except BaseException as exc:  # also KeyboardInterrupt, CancelledError
            call.fail(exc)
            raise
        instrument_stream(call, stream._raw_stream, MessageStream(), is_async=False)
        return stream

    return __enter__


def _aenter(original: Original) -> Original:
    async def __aenter__(self: Any) -> Any:
        call: LLMCall | None = self.__dict__.pop(_CALL_ATTR, None)
        if call is None:
            return await original(self)
        try:
            stream = await original(self)
        except BaseException as exc:  # also KeyboardInterrupt, CancelledError
            call.fail(exc)
            raise
        instrument_stream(call, stream._raw_stream, MessageStream(), is_async=True)
        return stream

    return __aenter__


class AnthropicIntegration(Integration):
    identifier = "anthropic"
    module = "anthropic"

    def __init__(self) -> None:
        self.patches = Patches()

    def setup_once(self) -> None:
        try:
            from anthropic import AsyncStream, Stream
            from anthropic._response import APIResponse, AsyncAPIResponse, BaseAPIResponse
            from anthropic.lib.streaming import _messages as helpers
            from anthropic.resources import messages
        except ImportError as exc:
            raise DidNotEnable(f"anthropic is not installed or too old: {exc}") from exc
        _Types.stream, _Types.async_stream = Stream, AsyncStream
        _Types.raw, _Types.any_raw = APIResponse, BaseAPIResponse
        _Types.async_raw = AsyncAPIResponse
        args = (PROVIDER, PROMPT_KEYS, prompt, _result)
        make_sync: Callable[[Original], Original] = lambda f: sync_wrapper(f, *args)  # noqa: E731
        make_async: Callable[[Original], Original] = lambda f: async_wrapper(  # noqa: E731
            f, *args, _record_async_raw
        )
        p = self.patches
        p.apply(messages.Messages, "create", make_sync)
        p.apply(messages.AsyncMessages, "create", make_async)
        p.apply(messages.Messages, "stream", _stream_method)
        p.apply(messages.AsyncMessages, "stream", _stream_method)
        p.apply(helpers.MessageStreamManager, "__enter__", _enter)
        p.apply(helpers.AsyncMessageStreamManager, "__aenter__", _aenter)
        patch_close(p, Stream, AsyncStream)

    def teardown(self) -> None:
        self.patches.restore()
