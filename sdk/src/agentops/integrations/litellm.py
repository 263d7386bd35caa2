"""LiteLLM: litellm.completion / litellm.acompletion, streamed or not.

LiteLLM calls a provider SDK underneath (openai for OpenAI models); that inner call runs with
recording suppressed (a context variable, which follows litellm's executor threads), so each
call is one event. Other integrations stay enabled (0.3.26 bug #655 disabled them).
`from litellm import completion` done BEFORE init() keeps the unpatched function.
"""

from __future__ import annotations

import weakref
from typing import Any

from agentops._errors import capture_internal_errors, report_internal_error
from agentops.integrations import DidNotEnable, Integration
from agentops.integrations._call import LLMCall, as_sent, should_record, start_call, suppressed
from agentops.integrations._patch import Original, Patches, handle_result
from agentops.integrations.openai import chat_message

PROVIDER = "litellm"
PROMPT_KEYS = ("messages",)
_CALL_ATTR = "_agentops_call"
_ACC_ATTR = "_agentops_acc"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def prompt(kwargs: dict[str, Any]) -> Any:
    return as_sent(kwargs.get("messages"))


def usage_fields(usage: Any) -> dict[str, Any]:
    """LiteLLM's usage is OpenAI-shaped, prompt_tokens including cache tokens."""
    if usage is None:
        return {}
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    read = _int(getattr(prompt_details, "cached_tokens", None))
    write = _int(getattr(usage, "cache_creation_input_tokens", None))
    if write is None:
        write = _int(getattr(prompt_details, "cache_creation_tokens", None))
    return {
        "prompt_tokens": _int(getattr(usage, "prompt_tokens", None)),
        "completion_tokens": _int(getattr(usage, "completion_tokens", None)),
        "cache_read_tokens": read,
        "cache_write_tokens": write or None,
        "reasoning_tokens": _int(getattr(completion_details, "reasoning_tokens", None)),
    }


def _provider(obj: Any, kwargs_model: Any) -> str | None:
    """The provider litellm called: from its response (or stream), from its exception (a
    failed call), else the `provider/` prefix of the model asked for."""
    hidden = getattr(obj, "_hidden_params", None)
    if isinstance(hidden, dict) and isinstance(hidden.get("custom_llm_provider"), str):
        return str(hidden["custom_llm_provider"])
    for attribute in ("custom_llm_provider", "llm_provider"):  # llm_provider: exceptions'
        provider = getattr(obj, attribute, None)
        if isinstance(provider, str) and provider:
            return provider
    if isinstance(kwargs_model, str) and "/" in kwargs_model:
        return kwargs_model.split("/", 1)[0]
    return None


def _failed(call: LLMCall, exc: BaseException) -> None:
    """A call litellm raised for: recorded with the provider it called, as a success is."""
    with capture_internal_errors("litellm provider"):
        call.event.provider = _provider(exc, call.event.model) or PROVIDER
    call.fail(exc)


class StreamState:
    """Accumulates litellm's OpenAI-shaped stream chunks."""

    __slots__ = ("chunks", "content", "model", "provider", "reading", "tool_calls", "usage")

    def __init__(self, provider: str | None) -> None:
        self.chunks = 0
        self.reading = False  # inside __next__: litellm closes the stream itself on errors
        self.provider = provider
        self.model: str | None = None
        self.content: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        self.chunks += 1
        if getattr(chunk, "model", None):
            self.model = chunk.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            if getattr(choice, "index", 0) != 0:
                continue
            delta = getattr(choice, "delta", None)
            if delta is None:
                continue
            if delta.content:
                self.content.append(delta.content)
            for part in getattr(delta, "tool_calls", None) or ():
                index = getattr(part, "index", 0) or 0
                slot = self.tool_calls.setdefault(
                    index,
                    {"id": None, "type": "function", "function": {"name": None, "arguments": ""}},
                )
                if getattr(part, "id", None):
                    slot["id"] = part.id
                function = getattr(part, "function", None)
                if function is not None:
                    if function.name:
                        slot["function"]["name"] = function.name
                    if function.arguments:
                        slot["function"]["arguments"] += function.arguments

    def gathered(self) -> dict[str, Any]:
        completion: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content) if self.content else None,
        }
        if self.tool_calls:
            completion["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        fields: dict[str, Any] = {"model": self.model, "completion": completion}
        fields["provider"] = self.provider
        fields.update(usage_fields(self.usage))
        return fields


def _stream_class(base: type) -> type:
    """A subclass of litellm's CustomStreamWrapper that observes chunks; instances are switched
    to it (`__class__`), so isinstance checks and every litellm method keep working."""

    class RecordingStream(base):  # type: ignore[misc]
        def __next__(self) -> Any:
            call: LLMCall = self.__dict__[_CALL_ATTR]
            acc: StreamState = self.__dict__[_ACC_ATTR]
            acc.reading = True
            try:
                with suppressed():  # some providers only send the request on first read
                    chunk = super().__next__()
            except StopIteration:
                call.finish(**acc.gathered())
                raise
            except BaseException as exc:  # also KeyboardInterrupt, CancelledError
                call.fail(exc, **acc.gathered())
                raise
            finally:
                acc.reading = False
            _observe(self, chunk)
            return chunk

        async def __anext__(self) -> Any:
            call: LLMCall = self.__dict__[_CALL_ATTR]
            acc: StreamState = self.__dict__[_ACC_ATTR]
            acc.reading = True
            try:
                with suppressed():
                    chunk = await super().__anext__()
            except StopAsyncIteration:
                call.finish(**acc.gathered())
                raise
            except BaseException as exc:  # also KeyboardInterrupt, CancelledError
                call.fail(exc, **acc.gathered())
                raise
            finally:
                acc.reading = False
            _observe(self, chunk)
            return chunk

        def close(self) -> Any:
            _finish_left(self.__dict__[_CALL_ATTR], self.__dict__[_ACC_ATTR])
            return super().close()

        async def aclose(self) -> Any:
            _finish_left(self.__dict__[_CALL_ATTR], self.__dict__[_ACC_ATTR])
            return await super().aclose()

    for method in ("close", "aclose"):  # older litellm streams have neither
        if not hasattr(base, method):
            delattr(RecordingStream, method)
    RecordingStream.__name__ = RecordingStream.__qualname__ = base.__name__
    return RecordingStream


def _finish_left(call: LLMCall, acc: StreamState) -> None:
    """A stream closed or garbage-collected before its end is recorded with what it delivered
    (as the OpenAI and Anthropic ones are); one never read from is not."""
    with capture_internal_errors("litellm stream left"):
        if acc.chunks and not acc.reading and not call.done:
            call.finish(**acc.gathered())


def _observe(stream: Any, chunk: Any) -> None:
    try:
        stream.__dict__[_ACC_ATTR].add(chunk)
    except Exception as exc:
        report_internal_error(exc, "integrations.litellm")


class LiteLLMIntegration(Integration):
    identifier = "litellm"
    module = "litellm"

    def __init__(self) -> None:
        self.patches = Patches()
        self._stream_cls: type | None = None
        self._stream_base: type | None = None

    def _result(self, call: LLMCall, result: Any, model: Any) -> Any:
        base = self._stream_base
        if base is not None and isinstance(result, base):
            assert self._stream_cls is not None
            state = StreamState(_provider(result, model))
            result.__dict__[_CALL_ATTR] = call
            result.__dict__[_ACC_ATTR] = state
            result.__class__ = self._stream_cls
            weakref.finalize(result, _finish_left, call, state).atexit = False  # left early
            return result
        choices = getattr(result, "choices", None)
        call.finish(
            model=getattr(result, "model", None),
            completion=chat_message(choices[0].message) if choices else None,
            provider=_provider(result, model),
            **usage_fields(getattr(result, "usage", None)),
        )
        return result

    def _sync(self, original: Original) -> Original:
        def completion(*args: Any, **kwargs: Any) -> Any:
            session = kwargs.pop("session", None)
            if not should_record(session):
                return original(*args, **kwargs)
            call = start_call(PROVIDER, _named(args, kwargs), session, PROMPT_KEYS, prompt)
            if call is None:
                return original(*args, **kwargs)
            try:
                with suppressed():
                    result = original(*args, **kwargs)
            except BaseException as exc:  # also KeyboardInterrupt, CancelledError
                _failed(call, exc)
                raise
            return handle_result(lambda c, r: self._result(c, r, call.event.model), call, result)

        return completion

    def _async(self, original: Original) -> Original:
        async def acompletion(*args: Any, **kwargs: Any) -> Any:
            session = kwargs.pop("session", None)
            if not should_record(session):
                return await original(*args, **kwargs)
            call = start_call(PROVIDER, _named(args, kwargs), session, PROMPT_KEYS, prompt)
            if call is None:
                return await original(*args, **kwargs)
            try:
                with suppressed():
                    result = await original(*args, **kwargs)
            except BaseException as exc:  # also KeyboardInterrupt, CancelledError
                _failed(call, exc)
                raise
            return handle_result(lambda c, r: self._result(c, r, call.event.model), call, result)

        return acompletion

    def setup_once(self) -> None:
        try:
            import litellm
            from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
        except ImportError as exc:
            raise DidNotEnable(f"litellm is not installed or too old: {exc}") from exc
        self._stream_base = CustomStreamWrapper
        self._stream_cls = _stream_class(CustomStreamWrapper)
        self.patches.apply(litellm, "completion", self._sync)
        self.patches.apply(litellm, "acompletion", self._async)

    def teardown(self) -> None:
        self.patches.restore()


def _named(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """completion(model, messages, ...) also takes model and messages positionally."""
    if not args:
        return kwargs
    named = dict(kwargs)
    for name, value in zip(("model", "messages"), args, strict=False):
        named.setdefault(name, value)
    return named
