"""agentops 0.4's trace API over our sessions: a trace is a session.

start_trace() starts a session named after the trace and makes it current in the caller's
context (contextvars, as 0.4 attaches its span); end_trace() ends it. Every end state is
kept: strings as 0.3 reads them ("Error" and "Failure" are Fail), 0.4's TraceState and
OpenTelemetry's StatusCode by name (OK Success, ERROR Fail, UNSET Indeterminate); a string
we don't know is Indeterminate with that string as the reason (0.4.21 drops enums).
"""

from __future__ import annotations

import enum
import json
import weakref
from decimal import Decimal
from typing import Any

from agentops import _recording
from agentops._budget import BudgetHandler
from agentops._client import Client, get_client
from agentops._errors import capture_internal_errors, logger, warn_once
from agentops._session import Session
from agentops._trace_context import NoTrace, TraceContext
from agentops.enums import TraceState
from agentops.wire import EndState

_BY_NAME = {"OK": EndState.SUCCESS, "ERROR": EndState.FAIL, "UNSET": EndState.INDETERMINATE}
_FAIL_WORDS = frozenset({"error", "errored"})
# The "key:value" tags a trace got from start_trace(tags={...}): 0.4.21 keeps them as span
# attributes of their own, so update_trace_metadata({"tags": [...]}) replaces only the others.
_DICT_TAGS: weakref.WeakKeyDictionary[Session, list[str]] = weakref.WeakKeyDictionary()


def parse_end_state(value: object) -> tuple[EndState, str | None]:
    """An end state (and a reason when the value named none of ours) from what 0.4 accepts."""
    if isinstance(value, EndState):
        return value, None
    if isinstance(value, TraceState):
        return value.end_state, None
    if isinstance(value, enum.Enum):  # e.g. opentelemetry.trace.StatusCode
        found = _BY_NAME.get(value.name)
        if found is not None:
            return found, None
        value = value.name
    text = str(value).strip()
    try:
        return EndState(text), None
    except ValueError:
        pass
    if text.lower() in _FAIL_WORDS:
        return EndState.FAIL, None
    upper = text.upper()
    if upper in _BY_NAME:
        return _BY_NAME[upper], None
    return EndState.INDETERMINATE, text or None


def tag_list(tags: object) -> list[str]:
    """0.4's tags: a list of strings, or a dict that becomes "key:value" tags."""
    if tags is None:
        return []
    if isinstance(tags, dict):
        return [f"{key}:{value}" for key, value in tags.items()]
    if isinstance(tags, str):
        return [tags]
    return [str(tag) for tag in tags] if isinstance(tags, list | tuple | set) else []


def start_trace(
    trace_name: str = "session",
    tags: dict[str, Any] | list[str] | None = None,
    *,
    max_cost_usd: float | str | Decimal | None = None,
    max_tokens: int | None = None,
    max_llm_calls: int | None = None,
    on_budget_exceeded: BudgetHandler | None = None,
) -> TraceContext:
    """Start a trace (a session named `trace_name`); it is current in this context. The
    budget keywords override init()'s for this trace (docs/sdk.md, Budgets)."""
    client = get_client()
    if not isinstance(client, Client):
        warn_once(
            "trace-before-init",
            "AgentOps SDK not initialized. Call agentops.init() before agentops.start_trace()",
        )
        return NoTrace()
    with capture_internal_errors("start_trace"):
        budget = {
            "max_cost_usd": max_cost_usd,
            "max_tokens": max_tokens,
            "max_llm_calls": max_llm_calls,
            "on_budget_exceeded": on_budget_exceeded,
        }
        session = client.start_session(tag_list(tags), name=trace_name, budget=budget)
        if session is not None and isinstance(tags, dict) and tags:
            _DICT_TAGS[session] = tag_list(tags)
        if session is not None:
            ctx = TraceContext(session)
            ctx.token = _recording.set_current(session)
            return ctx
    return NoTrace()


def end_trace(
    trace_context: TraceContext | Session | None = None,
    end_state: TraceState | EndState | str | Any = TraceState.SUCCESS,
) -> None:
    """End a trace (every running one when `trace_context` is None) with `end_state`. It
    returns at once: the end is queued, sent by the worker (or spooled like any event)."""
    state, reason = parse_end_state(end_state)
    if trace_context is None:  # all of them end now
        for session in _recording.active_sessions():
            session.end_queued(state, reason)
        return
    given: object = trace_context
    if isinstance(given, NoTrace):  # start_trace() had nothing to start
        return
    if isinstance(given, Session):
        given.end_queued(state, reason)
        return
    if not isinstance(given, TraceContext):
        logger.warning("end_trace() expects the TraceContext of start_trace(), got %r", given)
        return
    given.detach()
    given.session.end_queued(state, reason)


def update_trace_metadata(metadata: dict[str, Any], prefix: str = "trace.metadata") -> bool:
    """Merge `metadata` into the current trace's metadata; "tags" replaces its tags (but
    those start_trace() got as a dict, as in 0.4.21).

    Values are strings, numbers, booleans, or lists of them (others are skipped, as in 0.4).
    `prefix` is accepted for 0.4's signature: our metadata is a plain object.
    """
    session = _recording.current_session()
    if session is None:
        logger.warning("No active trace found. Cannot update metadata.")
        return False
    values: dict[str, Any] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        if isinstance(value, list) and all(isinstance(v, str | int | float | bool) for v in value):
            if key == "tags":
                session.set_tags([*(str(v) for v in value), *_DICT_TAGS.get(session, [])])
                continue
            values[key] = json.loads(json.dumps(value))
        elif isinstance(value, str | int | float | bool):
            values[key] = value
        else:
            logger.warning(
                "Skipping metadata key '%s': value type %s not supported", key, type(value)
            )
    if values:
        session.set_metadata(values)
    return bool(values) or "tags" in metadata
