"""Stream instrumentation: observe every item of a provider stream, record once at its end.

The provider's own stream object is kept (isinstance checks and helpers such as
`messages.stream()` keep working); only the iterator it draws items from is wrapped.
A stream consumed to the end, or closed early, records the call with what it gathered; a stream
that raises records the call plus an ErrorEvent and re-raises the provider's exception. So does a
stream interrupted while it waits for the provider (a KeyboardInterrupt, an asyncio task
cancelled by wait_for or asyncio.run's Ctrl+C): the exception goes on unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

from agentops._errors import report_internal_error
from agentops.integrations._call import LLMCall
from agentops.integrations._patch import Original, Patches


class Accumulator(Protocol):
    def add(self, item: Any) -> None: ...

    def gathered(self) -> dict[str, Any]:
        """LLMCall.finish() keywords from what was seen so far."""
        ...


def _gathered(acc: Accumulator) -> dict[str, Any]:
    try:
        return acc.gathered()
    except Exception as exc:
        report_internal_error(exc, "integrations.stream")
        return {}


def observe(call: LLMCall, items: Iterator[Any], acc: Accumulator) -> Iterator[Any]:
    """Yield the items of `items`, feeding each to `acc`; finish or fail `call` at the end."""
    try:
        for item in items:
            try:
                acc.add(item)
            except Exception as exc:
                report_internal_error(exc, "integrations.stream")
            yield item
    except GeneratorExit:
        call.finish(**_gathered(acc))
        close = getattr(items, "close", None)
        if close is not None:
            close()
        raise
    except BaseException as exc:  # also KeyboardInterrupt, CancelledError
        call.fail(exc, **_gathered(acc))
        raise
    call.finish(**_gathered(acc))


async def aobserve(
    call: LLMCall, items: AsyncIterator[Any], acc: Accumulator
) -> AsyncIterator[Any]:
    """The async twin of observe()."""
    try:
        async for item in items:
            try:
                acc.add(item)
            except Exception as exc:
                report_internal_error(exc, "integrations.stream")
            yield item
    except GeneratorExit:
        call.finish(**_gathered(acc))
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
        raise
    except BaseException as exc:  # also KeyboardInterrupt, CancelledError
        call.fail(exc, **_gathered(acc))
        raise
    call.finish(**_gathered(acc))


def instrument_stream(call: LLMCall, stream: Any, acc: Accumulator, *, is_async: bool) -> Any:
    """Swap the provider stream's item iterator (`_iterator`, the Stainless clients' attribute)
    for an observing one. If the stream has none, record the call now with tokens unknown."""
    inner = getattr(stream, "_iterator", None)
    if inner is None:
        call.finish()
        return stream
    stream._iterator = aobserve(call, inner, acc) if is_async else observe(call, inner, acc)
    return stream


def _close_method(original_close: Original) -> Original:
    """Stream.close(): close our observer first, so a stream left early (`break` inside
    `with stream:`) is recorded now, not when it is garbage-collected."""

    def close(self: Any) -> Any:
        observer = self.__dict__.get("_iterator")
        if getattr(observer, "gi_code", None) is observe.__code__:
            try:
                observer.close()
            except Exception as exc:
                report_internal_error(exc, "integrations.stream.close")
        return original_close(self)

    return close


def _aclose_method(original_close: Original) -> Original:
    async def close(self: Any) -> Any:
        observer = self.__dict__.get("_iterator")
        if getattr(observer, "ag_code", None) is aobserve.__code__:
            try:
                await observer.aclose()
            except Exception as exc:
                report_internal_error(exc, "integrations.stream.close")
        return await original_close(self)

    return close


def patch_close(patches: Patches, stream_cls: type, async_stream_cls: type) -> None:
    """Make the library's Stream.close / AsyncStream.close finish an observed stream."""
    patches.apply(stream_cls, "close", _close_method)
    patches.apply(async_stream_cls, "close", _aclose_method)
