"""Budgets: a session's limits on cost, tokens and LLM calls, and the project's budget signal.

Every instrumented LLM call asks its session's `Ledger` before it is sent (`admit`). When a
limit is reached (used >= limit), or the server's last answer said the project's daily or
monthly budget is reached, the call is refused: the user's `on_budget_exceeded` handler may
allow it (returns True), otherwise `BudgetExceeded` is raised into the caller, the refused
call is recorded (an LLM event with no tokens and an error event), and the session's end
reason names the limit. Answers are counted when they arrive (`count`). One lock per session
keeps threads and asyncio tasks exact on the call count; calls already in flight when a cost
or token limit is reached still finish and count.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from agentops import _prices
from agentops._errors import AgentOpsError, logger, report_internal_error, warn_once

if TYPE_CHECKING:
    from agentops._config import Configuration

EXCEEDED_HEADER: Final = "x-agentops-budget-exceeded"
MESSAGE_HEADER: Final = "x-agentops-budget-message"
PROJECT_LIMITS: Final = {"daily": "project_daily_budget", "monthly": "project_monthly_budget"}


class BudgetExceeded(AgentOpsError):
    """An LLM call was not sent: a budget is reached.

    `limit` names it (max_cost_usd, max_tokens, max_llm_calls, project_daily_budget,
    project_monthly_budget); `maximum` and `used` are its amounts (None for the project's,
    which only the server knows: they are in the message).
    """

    def __init__(
        self,
        limit: str,
        maximum: Decimal | int | None,
        used: Decimal | int | None,
        message: str,
        session_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum
        self.used = used
        self.message = message
        self.session_id = session_id

    def __reduce__(self) -> tuple[Any, ...]:  # survives pickling (process pools)
        args = (self.limit, self.maximum, self.used, self.message, self.session_id)
        return (type(self), args)


BudgetHandler = Callable[[BudgetExceeded], bool]


def amount(value: Decimal) -> str:
    """USD for a message: two decimals at least, up to six ("0.50", "0.003780")."""
    text = f"{value.quantize(Decimal('0.000001')):f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def tokens_at_most(text: Any) -> int:
    """An upper bound of the tokens of a prompt or completion that the provider did not count
    (an OpenAI chat stream without usage): one per byte of its JSON text. A token is at least
    one byte, and the JSON's quotes and keys outweigh the few tokens a chat format adds per
    message, so the estimate is never lower than the real count."""
    if text is None:
        return 0
    if not isinstance(text, str):
        text = json.dumps(text, default=str, ensure_ascii=False)
    return len(text.encode("utf-8", "replace"))


class ProjectBudgetSignal:
    """The project's budget as the server's last answer told it (headers on every answer)."""

    def __init__(self) -> None:
        self.state: tuple[tuple[str, ...], str] = ((), "")  # (periods, message): one assignment

    def note(self, headers: Mapping[str, str], ok: bool = True) -> None:
        """Take an answer's headers. Only a success without them lifts the signal: an error
        answer may come from a proxy, or from before the server knew the project."""
        raw = headers.get(EXCEEDED_HEADER)
        if not raw:
            if ok:
                self.state = ((), "")
            return
        periods = tuple(p.strip().lower() for p in raw.split(",") if p.strip())
        message = headers.get(MESSAGE_HEADER, "").strip()
        if self.state[0] != periods:
            logger.warning(
                "The server says the project's %s budget is reached%s: LLM calls are refused "
                "until it says otherwise",
                " and ".join(periods),
                f" ({message})" if message else "",
            )
        self.state = (periods, message)

    def breach(self) -> BudgetExceeded | None:
        periods, message = self.state
        if not periods:
            return None
        limit = PROJECT_LIMITS.get(periods[0], f"project_{periods[0]}_budget")
        text = f"budget: the project's {' and '.join(periods)} budget is reached"
        return BudgetExceeded(limit, None, None, f"{text} ({message})" if message else text)


class Ledger:
    """One session's limits and what it used so far."""

    def __init__(
        self,
        config: Configuration,
        project: ProjectBudgetSignal,
        session_id: str | None = None,
    ) -> None:
        self.max_cost_usd: Decimal | None = config.max_cost_usd
        self.max_tokens = config.max_tokens
        self.max_llm_calls = config.max_llm_calls
        self.handler: BudgetHandler | None = config.on_budget_exceeded
        limits = (self.max_cost_usd, self.max_tokens, self.max_llm_calls)
        self.limited = any(limit is not None for limit in limits)
        self.project = project
        self.session_id = session_id
        self.cost = Decimal(0)
        self.tokens = 0
        self.llm_calls = 0
        self.stopped_by: str | None = None  # the first refusal's reason (the end reason)
        self._lock = threading.Lock()

    def _breach(self) -> BudgetExceeded | None:
        checks: tuple[tuple[str, Any, Any], ...] = (
            ("max_llm_calls", self.max_llm_calls, self.llm_calls),
            ("max_tokens", self.max_tokens, self.tokens),
            ("max_cost_usd", self.max_cost_usd, self.cost),
        )
        for name, maximum, used in checks:
            if maximum is not None and used >= maximum:
                if isinstance(maximum, Decimal):
                    shown = f"{amount(maximum)} reached ({amount(used)} used)"
                else:
                    shown = f"{maximum} reached ({used} used)"
                message = f"budget: {name} {shown}"
                return BudgetExceeded(name, maximum, used, message, self.session_id)
        breach = self.project.breach()
        if breach is not None:
            breach.session_id = self.session_id
        return breach

    def admit(self) -> BudgetExceeded | None:
        """Take one call if no budget is reached (or the handler allows it); else the refusal,
        for the caller to record and raise."""
        if not self.limited and not self.project.state[0]:
            return None  # nothing to count against: no lock on the hot path
        with self._lock:
            breach = self._breach()
            if breach is None:
                self.llm_calls += 1
                return None
        if self._allowed(breach):
            with self._lock:
                self.llm_calls += 1
            return None
        with self._lock:
            if self.stopped_by is None:
                self.stopped_by = breach.message
        return breach

    def _allowed(self, breach: BudgetExceeded) -> bool:
        handler = self.handler
        if handler is None:
            return False
        try:
            return handler(breach) is True
        except Exception as exc:  # the user's handler failed: the call is refused
            logger.error("on_budget_exceeded raised %r; the LLM call is refused", exc, exc_info=exc)
            breach.__cause__ = exc
            return False

    def count(
        self,
        model: str | None,
        provider: str | None,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
    ) -> None:
        """Add an answered call's tokens and cost (never raises)."""
        if self.max_tokens is None and self.max_cost_usd is None:
            return
        try:
            if prompt_tokens is None:
                warn_once(
                    "budget-unknown-tokens",
                    "An LLM call failed before its answer and reported no token counts: "
                    "it counts toward max_llm_calls only, not max_tokens or max_cost_usd",
                )
                return
            # a stream left before its end (Anthropic) told its prompt only: count that much
            completion_tokens = completion_tokens or 0
            cost = Decimal(0)
            if self.max_cost_usd is not None:
                cost = _prices.cost_of(
                    model,
                    provider,
                    prompt_tokens,
                    completion_tokens,
                    cache_read_tokens,
                    cache_write_tokens,
                )
            with self._lock:
                self.tokens += prompt_tokens + completion_tokens
                self.cost += cost
        except Exception as exc:
            report_internal_error(exc, "budget.count")

    def end_reason(self, reason: str | None) -> str | None:
        """The session's end reason: the limit that stopped it first, then the given one (as
        text: end_session("Fail", exc) is common and must not raise here)."""
        stopped = self.stopped_by
        if stopped is None:
            return reason
        given = None if reason is None else str(reason)
        if given is not None and stopped in given:
            return given
        return stopped if not given else f"{stopped}; {given}"
