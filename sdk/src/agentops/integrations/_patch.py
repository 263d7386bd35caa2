"""Patching provider classes: wrappers that record a call, and a ledger to undo them.

A wrapper is installed on the class (not on client instances), finds nothing at import time
and decides per call: when recording is off it only drops the 0.3 `session=` keyword and calls
the original. The provider's exception always reaches the caller unchanged, and so does an
interruption (KeyboardInterrupt, asyncio's CancelledError), recorded as a failed call first.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from agentops._errors import report_internal_error
from agentops.integrations._call import LLMCall, should_record, start_call

Original = Callable[..., Any]
PromptBuilder = Callable[[dict[str, Any]], Any]
ResultHandler = Callable[[LLMCall, Any], Any]
# An async step before the handler: True if it recorded the call (an async raw response whose
# message it awaited), False to leave the result to the handler.
AsyncRecorder = Callable[[LLMCall, Any], Awaitable[bool]]

_MARK = "__agentops_original__"


def handle_result(handler: ResultHandler, call: LLMCall, result: Any) -> Any:
    """Run a result handler; if it fails, record what we know and return the result as is."""
    try:
        return handler(call, result)
    except Exception as exc:
        report_internal_error(exc, "integrations.result")
        call.finish()
        return result


def sync_wrapper(
    original: Original,
    provider: str,
    prompt_keys: tuple[str, ...],
    build_prompt: PromptBuilder,
    handler: ResultHandler,
) -> Original:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        session = kwargs.pop("session", None)
        if not should_record(session):
            return original(*args, **kwargs)
        call = start_call(provider, kwargs, session, prompt_keys, build_prompt)
        if call is None:
            return original(*args, **kwargs)
        try:
            result = original(*args, **kwargs)
        except BaseException as exc:  # also KeyboardInterrupt, CancelledError
            call.fail(exc)
            raise
        return handle_result(handler, call, result)

    return functools.wraps(original)(wrapper)


def async_wrapper(
    original: Original,
    provider: str,
    prompt_keys: tuple[str, ...],
    build_prompt: PromptBuilder,
    handler: ResultHandler,
    recorder: AsyncRecorder | None = None,
) -> Original:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        session = kwargs.pop("session", None)
        if not should_record(session):
            return await original(*args, **kwargs)
        call = start_call(provider, kwargs, session, prompt_keys, build_prompt)
        if call is None:
            return await original(*args, **kwargs)
        try:
            result = await original(*args, **kwargs)
        except BaseException as exc:  # also KeyboardInterrupt, CancelledError
            call.fail(exc)
            raise
        if recorder is not None:
            try:
                if await recorder(call, result):
                    return result
            except Exception as exc:
                report_internal_error(exc, "integrations.result")
                call.finish()
                return result
        return handle_result(handler, call, result)

    return functools.wraps(original)(wrapper)


class Patches:
    """The attributes one integration replaced, restorable in reverse order."""

    def __init__(self) -> None:
        self._applied: list[tuple[Any, str, Any]] = []

    def apply(self, owner: Any, name: str, make: Callable[[Original], Original]) -> bool:
        """Replace owner.name by make(original); False if absent or already patched."""
        original = (
            owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        )
        if original is None or getattr(original, _MARK, None) is not None:
            return False
        replacement = make(original)
        setattr(replacement, _MARK, original)
        setattr(owner, name, replacement)
        self._applied.append((owner, name, original))
        return True

    def restore(self) -> None:
        while self._applied:
            owner, name, original = self._applied.pop()
            current = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name)
            if getattr(current, _MARK, None) is original:
                setattr(owner, name, original)

    def __bool__(self) -> bool:
        return bool(self._applied)
