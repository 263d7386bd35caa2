"""One instrumented LLM call: its start, its outcome, and the events it records.

Provider modules build an `LLMCall` when a patched method is entered and call `finish()` or
`fail()` exactly once (streams: when the stream ends, fails or is closed). Recording never
raises into the caller: our failures are logged and swallowed (agentops._errors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from agentops import _recording
from agentops._budget import BudgetExceeded, Ledger, tokens_at_most
from agentops._encode import snapshot
from agentops._errors import capture_internal_errors, report_internal_error
from agentops._events import ErrorEvent, LLMEvent, _current_parent, end_now

# Set while a wrapper library (litellm) runs, so the provider call it makes underneath is
# not recorded a second time. Context variables follow threads started with copy_context()
# and asyncio tasks, which is how litellm runs its provider calls.
_suppressed: ContextVar[bool] = ContextVar("agentops_llm_suppressed", default=False)

# Whether integrations are set up (init() with instrument_llm_calls); a wrapper still in place
# after teardown (e.g. bound earlier by a caller) then passes calls straight through.
_state = {"enabled": False}


def set_enabled(enabled: bool) -> None:
    _state["enabled"] = enabled


def should_record(session: Any) -> bool:
    """Whether a patched call records: integrations set up, not inside a wrapper library
    (litellm), and a session to record to (given with session=, or a running one)."""
    if not _state["enabled"] or _suppressed.get():
        return False
    return session is not None or _recording.any_active()


@contextmanager
def suppressed() -> Iterator[None]:
    """Don't record provider calls made inside this block (they belong to an outer call)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def _record(event: LLMEvent | ErrorEvent, session: Any) -> None:
    _recording.record_event(event, session=session)


class LLMCall:
    """A call in flight. `params` are the request kwargs minus the prompt ones."""

    __slots__ = ("done", "event", "ledger", "session")

    def __init__(self, provider: str, prompt: Any, params: dict[str, Any], session: Any) -> None:
        self.session = session
        self.done = False
        self.ledger: Ledger | None = None  # the session's budget, once admit() took the call
        self.event = LLMEvent(
            params=params,
            prompt=prompt,
            model=params.get("model"),
            provider=provider,
        )

    def finish(
        self,
        *,
        model: str | None = None,
        completion: Any = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        provider: str | None = None,
    ) -> None:
        """Record the LLM event. Token counts the provider did not report stay None."""
        if self.done:
            return
        self.done = True
        try:
            self._fill(
                model,
                completion,
                prompt_tokens,
                completion_tokens,
                cache_read_tokens,
                cache_write_tokens,
                reasoning_tokens,
                provider,
            )
            _record(self.event, self.session)
            self._count(answered=True)
        except Exception as exc:
            report_internal_error(exc, "integrations.finish")

    def admit(self) -> None:
        """Ask the session's budget before the call is sent. A refused call is recorded (no
        tokens, and an error event) and BudgetExceeded raised; nothing else ever is."""
        refusal: BudgetExceeded | None = None
        try:
            target = self.session if self.session is not None else _recording.current_session()
            ledger = getattr(target, "budget", None)
            if not isinstance(ledger, Ledger):
                return
            refusal = ledger.admit()
            if refusal is None:
                self.ledger = ledger
                return
            self.fail(refusal, prompt_tokens=0, completion_tokens=0)
        except Exception as exc:
            report_internal_error(exc, "integrations.budget")
            return
        raise refusal

    def _count(self, *, answered: bool = False) -> None:
        """Add the call to its session's budget. An answered call whose provider counted no
        tokens (an OpenAI stream without usage) counts an upper bound of them instead."""
        ledger = self.ledger
        if ledger is not None:
            event = self.event
            prompt_tokens, completion_tokens = event.prompt_tokens, event.completion_tokens
            if answered and prompt_tokens is None:
                prompt_tokens = tokens_at_most(event.prompt)
                completion_tokens = tokens_at_most(event.completion)
            ledger.count(
                event.model,
                event.provider,
                prompt_tokens,
                completion_tokens,
                event.cache_read_tokens,
                event.cache_write_tokens,
            )

    def fail(self, exc: BaseException, **gathered: Any) -> None:
        """Record the failed call and an ErrorEvent linked to it (trigger_event).

        A stream that broke midway passes what it gathered (finish()'s keywords). Otherwise the
        request failed: answered with an error status (the exception has a status_code), the
        provider billed nothing and the tokens are 0; without an answer (timeout, connection
        error) they are unknown.
        """
        if self.done:
            return
        self.done = True
        with capture_internal_errors("integrations.fail"):
            if gathered:
                self._fill(**gathered)
            elif isinstance(getattr(exc, "status_code", None), int):
                self._fill(prompt_tokens=0, completion_tokens=0)
            else:
                self._fill()
            target = self.session if self.session is not None else _recording.current_session()
            _record(self.event, target)
            _record(ErrorEvent(trigger_event=self.event, exception=exc), target)
            _recording.note_error(target, exc)
            frame = _current_parent.get()
            if frame is not None:  # the decorated call it raises through: recorded once
                frame.raised = exc
            self._count()

    def _fill(
        self,
        model: str | None = None,
        completion: Any = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        provider: str | None = None,
    ) -> None:
        event = self.event
        end_now(event)
        if model:
            event.model = model
        if provider:
            event.provider = provider
        event.completion = completion
        event.prompt_tokens = prompt_tokens
        event.completion_tokens = completion_tokens
        event.cache_read_tokens = cache_read_tokens
        event.cache_write_tokens = cache_write_tokens
        event.reasoning_tokens = reasoning_tokens


# Request keywords never recorded: credentials (litellm takes api_key and cloud keys as call
# arguments) and headers, which may carry them.
SECRET_PARAMS = frozenset(
    {
        "api_key",
        "azure_ad_token",
        "azure_ad_token_provider",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "vertex_credentials",
        "client_secret",
        "extra_headers",
        "headers",
    }
)


def start_call(
    provider: str,
    kwargs: dict[str, Any],
    session: Any,
    prompt_keys: tuple[str, ...],
    build_prompt: Callable[[dict[str, Any]], Any],
) -> LLMCall | None:
    """An LLMCall for these request kwargs, admitted by the session's budget (else
    BudgetExceeded is raised), or None if building it failed."""
    try:
        params = as_sent(
            {k: v for k, v in kwargs.items() if k not in prompt_keys and k not in SECRET_PARAMS}
        )
        call = LLMCall(provider, build_prompt(kwargs), params, session)
    except Exception as exc:
        report_internal_error(exc, "integrations.start")
        return None
    call.admit()
    return call


def as_sent(value: Any) -> Any:
    """The messages as sent, taken now (agentops._encode.snapshot): an agent appends to its
    message list, or edits a message, after the call, and that is not what was sent."""
    return snapshot(value)
