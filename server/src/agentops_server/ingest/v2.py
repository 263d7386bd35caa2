"""Wire JSON -> store records: the 0.3 client's quirks accepted, wrong types rejected by name.

Kept small per event: ingestion normalizes tens of thousands of events a second.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agentops import wire
from agentops.wire import EndState
from agentops_server.pricing import Pricer, TokenUsage
from agentops_server.storage.index_keys import index_key, optional_index_key
from agentops_server.storage.records import CostSource, EventWrite, SessionWrite, usd_to_nanos
from agentops_server.timestamps import parse_timestamp

MAX_ID_LENGTH = 200
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EXAMPLE_UUID = "3f0b6a52-9c1e-4d7a-8f36-2b5e0c9d4a17"
MAX_TOKENS = 10**12
"""Per token count of one event: 100,000 times the largest context window, and small enough
that sums over millions of events stay far inside int64."""
MAX_COST_USD = 10**6
"""Per event, reported or computed: a million USD for one LLM call is not a real call."""
_MAX_COST_NANOS = MAX_COST_USD * 10**9
MAX_DROP_REASONS = 20  # session.dropped_events: reasons per session, and their length
MAX_DROP_REASON_LENGTH = 64
_KNOWN_TYPES = frozenset({"llms", "actions", "tools", "errors"})
_NAME_KEYS = {
    "llms": ("model",),
    "actions": ("action_type", "name"),
    "tools": ("name", "tool_name"),
    "errors": ("error_type",),
}


class Invalid(ValueError):
    """A field has a wrong type or value; the message names the field."""


# --- sessions --------------------------------------------------------------------------------
def session_body(body: Any) -> dict[str, Any]:
    """The "session" object of a create_session / update_session body."""
    if not isinstance(body, dict):
        raise Invalid('the body must be a JSON object with a "session" object')
    session = body.get("session")
    if not isinstance(session, dict):
        raise Invalid("session is required and must be an object")
    return session


def session_id_of(session: dict[str, Any]) -> str:
    value = session.get("session_id", session.get("id"))
    if value is None or value == "":
        raise Invalid("session.session_id is required")
    return session_uuid("session.session_id", value)


def session_uuid(field: str, value: object) -> str:
    """A session id as the protocol has it: a hyphenated UUID, answered in lower case (the 0.3
    client sends str(uuid4()); any other case would otherwise be a second session)."""
    if type(value) is str and _UUID.fullmatch(value):
        return value.lower()
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:60] + "..."
        raise Invalid(f"{field} must be a UUID like {_EXAMPLE_UUID}, got {shown!r}")
    raise Invalid(f"{field} must be a UUID string, got {type(value).__name__}")


def canonical_session_id(value: str) -> str:
    """A session id from a URL or query: UUIDs in lower case, anything else as given (it then
    simply matches no session)."""
    return value.lower() if _UUID.fullmatch(value) else value


def session_write(
    session: dict[str, Any],
    *,
    session_id: str,
    project_id: str,
    creating: bool,
    parent_project_id: str | None = None,
    now: datetime | None = None,
) -> SessionWrite:
    """A SessionWrite from a snapshot. End fields count only once the session has ended:
    0.3.26 also sends an end_timestamp with "Indeterminate" while still running (get_analytics)."""
    end_state = _end_state(session.get("end_state"))
    end_ts = _timestamp("session.end_timestamp", session.get("end_timestamp"))
    reason = _text("session.end_state_reason", session.get("end_state_reason"))
    running = session.get("is_running")
    if running == "":  # "" and null mean unset, as for every field
        running = None
    if running is not None and not isinstance(running, bool):
        raise Invalid(f"session.is_running must be true or false, got {running!r}")
    if running is None:
        ended = end_ts is not None or end_state in (EndState.SUCCESS.value, EndState.FAIL.value)
    else:
        ended = running is False
    init_ts = _timestamp("session.init_timestamp", session.get("init_timestamp"))  # checked
    if creating:  # an update never moves the start
        init_ts = init_ts or now or datetime.now(UTC)
    else:
        init_ts = None
    return SessionWrite(
        id=session_id,
        project_id=project_id,
        init_timestamp=init_ts,
        end_timestamp=(end_ts or now or datetime.now(UTC)) if ended else None,
        end_state=(end_state or EndState.INDETERMINATE.value) if ended else None,
        end_state_reason=reason if ended else None,
        tags=_tags(session.get("tags")),
        host_env=_object("session.host_env", session.get("host_env")),
        video=_text("session.video", session.get("video")),
        parent_project_id=parent_project_id,
        dropped_events=dropped_events(session.get("dropped_events")),
        name=_text("session.name", session.get("name")),
        metadata=_object("session.metadata", session.get("metadata")),
    )


def agent_fields(body: Any) -> tuple[str, str | None]:
    """(agent id, name) from a create_agent body."""
    if not isinstance(body, dict):
        raise Invalid('the body must be a JSON object with "id" and "name"')
    value = body.get("id")
    if value is None or value == "":
        raise Invalid("id is required")
    return _id("id", value), optional_index_key(_text("name", body.get("name")))


# --- events ----------------------------------------------------------------------------------
def event_list(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        raise Invalid('the body must be a JSON object with an "events" list')
    events = body.get("events")
    if not isinstance(events, list):
        raise Invalid("events is required and must be a list")
    return events


def event_writes(
    events: list[Any],
    *,
    session_id: str,
    project_id: str,
    pricer: Pricer,
    now: datetime,
    load_overrides: bool = True,
) -> list[EventWrite]:
    """Normalize a whole batch; any invalid event rejects the batch (nothing is stored).

    The event dicts become the payloads (their lifted fields removed): pass fresh ones.
    load_overrides=False prices with the project's overrides in memory (no store read)."""
    out = []
    for index, raw in enumerate(events):
        if not isinstance(raw, dict):
            raise Invalid(f"events[{index}] must be an object")
        try:
            out.append(_event(raw, session_id, project_id, pricer, now, load_overrides))
        except Invalid as exc:
            raise Invalid(f"events[{index}].{exc}") from None
    return out


def _event(
    raw: dict[str, Any],
    session_id: str,
    project_id: str,
    pricer: Pricer,
    now: datetime,
    load_overrides: bool,
) -> EventWrite:
    """`raw` was just parsed and is ours: lifted fields are popped, the rest is the payload."""
    _check_typed_fields(raw)
    pop = raw.pop
    wire_type = pop("event_type", None)
    if not isinstance(wire_type, str) or not wire_type:
        raise Invalid("event_type is required and must be a string")
    event_id = pop("id", None)
    if event_id is None or event_id == "":
        raise Invalid("id is required")
    event_id = _id("id", event_id)
    kind = wire_type if wire_type in _KNOWN_TYPES else "actions"
    init_value = pop("init_timestamp", None)
    if init_value is None:
        init_value = raw.get("timestamp")  # 0.3.0-era ErrorEvents
    init_ts = _timestamp("init_timestamp", init_value)
    end_ts = _timestamp("end_timestamp", pop("end_timestamp", None))
    agent_id = pop("agent_id", None)
    parent_id = pop("parent_id", None)
    pop("session_id", None)  # identity comes from the token
    name = None
    for key in _NAME_KEYS[kind]:
        value = raw.get(key)
        if value is not None and value != "":
            name = _text(key, value)
            break
    if kind != wire_type:
        raw["event_type"] = wire_type
    elif kind == "errors":
        _trigger_link(raw)
    model = provider = None
    prompt = completion = cache_read = cache_write = reasoning = None
    cost_nanos: int | None = None
    cost_source = CostSource.NONE
    init_ts = init_ts or end_ts or now
    if kind == "llms":
        model = optional_index_key(name)
        pop("model", None)
        provider = _text(wire.PROVIDER, pop(wire.PROVIDER, None))
        prompt = _tokens("prompt_tokens", pop("prompt_tokens", None))
        completion = _tokens("completion_tokens", pop("completion_tokens", None))
        cache_read = _tokens(wire.CACHE_READ_TOKENS, pop(wire.CACHE_READ_TOKENS, None))
        cache_write = _tokens(wire.CACHE_WRITE_TOKENS, pop(wire.CACHE_WRITE_TOKENS, None))
        reasoning = _tokens(wire.REASONING_TOKENS, pop(wire.REASONING_TOKENS, None))
        usage = TokenUsage(prompt, completion, cache_read, cache_write, reasoning)
        reported = _cost(pop("cost", None))
        price = pricer.price(
            project_id, model, provider, usage, reported, at=init_ts, load_overrides=load_overrides
        )
        cost_nanos, cost_source = price.cost_nanos, price.source
        if cost_nanos is not None and cost_nanos > _MAX_COST_NANOS:
            raise Invalid(
                f"prompt_tokens/completion_tokens price to {cost_nanos // 10**9} USD for one "
                f"call with {model}: over the limit of {MAX_COST_USD} USD per event"
            )
    elif kind == "tools" and wire_type == kind:  # a tool's own cost (agentops 0.4 @tool(cost=))
        tool_cost = _cost(pop("cost", None))
        if tool_cost is not None:
            cost_nanos, cost_source = usd_to_nanos(tool_cost), CostSource.REPORTED
    return EventWrite(
        id=event_id,
        session_id=session_id,
        event_type=kind,
        init_timestamp=init_ts,
        end_timestamp=end_ts,
        agent_id=None if agent_id is None or agent_id == "" else _id("agent_id", agent_id),
        name=name,
        model=model,
        provider=provider,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
        cost_nanos=cost_nanos,
        cost_source=cost_source,
        payload=raw,
        parent_id=None if parent_id is None or parent_id == "" else _id("parent_id", parent_id),
    )


_TEXT_FIELDS = ("action_type", "name", "tool_name", "model", wire.PROVIDER, "error_type")
_TOKEN_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    wire.CACHE_READ_TOKENS,
    wire.CACHE_WRITE_TOKENS,
    wire.REASONING_TOKENS,
)


def _check_typed_fields(raw: dict[str, Any]) -> None:
    """The fields the API documents with a type have it on every event, whatever its type
    (an ActionEvent's `model: {}` is refused like an LLMEvent's), as the OpenAPI document says."""
    for key in _TEXT_FIELDS:
        if key in raw:
            _text(key, raw[key])
    for key in _TOKEN_FIELDS:
        if key in raw:
            _tokens(key, raw[key])
    if "cost" in raw:
        _cost(raw["cost"])


def _trigger_link(raw: dict[str, Any]) -> None:
    """Keep trigger_event_id/type when sent; lift them out of a trigger_event object too."""
    trigger = raw.get("trigger_event")
    if isinstance(trigger, dict):
        raw.setdefault(wire.TRIGGER_EVENT_ID, trigger.get("id"))
        raw.setdefault(wire.TRIGGER_EVENT_TYPE, trigger.get("event_type"))


# --- field coercion --------------------------------------------------------------------------
def _id(field: str, value: object) -> str:
    if type(value) is str and 0 < len(value) <= MAX_ID_LENGTH and value.strip() is value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string, got {type(value).__name__}")
    value = value.strip()
    if not value or len(value) > MAX_ID_LENGTH:
        raise Invalid(f"{field} must be 1 to {MAX_ID_LENGTH} characters")
    return value


def _text(field: str, value: object) -> str | None:
    if type(value) is str:
        return value or None
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Invalid(f"{field} must be a string, got {type(value).__name__}")


def _object(field: str, value: object) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    raise Invalid(f"{field} must be an object, got {type(value).__name__}")


def _tags(value: object) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):  # AgentOps stores tags as comma-separated text
        value = value.split(",")
    if not isinstance(value, list):
        raise Invalid(f"session.tags must be a list of strings, got {type(value).__name__}")
    tags: dict[str, None] = {}  # ordered and O(1) per tag: a request may carry 100,000
    for item in value:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise Invalid("session.tags must be a list of strings")
        tag = index_key(str(item).strip())
        if tag:
            tags[tag] = None
    return list(tags)


def dropped_events(value: object) -> dict[str, int] | None:
    """session.dropped_events: what the SDK could not deliver, {reason: cumulative count}."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_DROP_REASONS:
        raise Invalid(
            f"session.dropped_events must be an object of at most {MAX_DROP_REASONS} "
            'reasons and counts, like {"queue_full": 3}'
        )
    counts: dict[str, int] = {}
    for reason, count in value.items():
        if not 0 < len(reason) <= MAX_DROP_REASON_LENGTH:
            raise Invalid(
                f"session.dropped_events: a reason must be 1 to {MAX_DROP_REASON_LENGTH} characters"
            )
        if isinstance(count, float) and count.is_integer():  # 3.0 is a JSON integer too
            count = int(count)
        if type(count) is not int or not 0 <= count <= MAX_TOKENS:
            raise Invalid(
                f"session.dropped_events.{reason} must be a count (a whole number >= 0), "
                f"got {count!r}"
            )
        if count:
            counts[reason] = count
    return counts or None


def _end_state(value: object) -> str | None:
    if value is None or value == "":
        return None
    try:
        return EndState(value).value
    except ValueError:
        raise Invalid(
            f"session.end_state must be one of Success, Fail, Indeterminate, got {value!r}"
        ) from None


def _timestamp(field: str, value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise Invalid(f"{field} is not a valid timestamp ({exc})") from None


def _tokens(field: str, value: object) -> int | None:
    if type(value) is int and 0 <= value <= MAX_TOKENS:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"{field} must be a whole number, got {value!r}")
    if not 0 <= value <= MAX_TOKENS:
        raise Invalid(f"{field} must be between 0 and {MAX_TOKENS}, got {value}")
    return value


def _cost(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Invalid(f"cost must be a number, got {type(value).__name__}")
    try:
        if isinstance(value, str) and "_" in value:  # Decimal reads "1_000" as 1000
            raise InvalidOperation
        cost = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(f"cost must be a number, got {value!r}") from None
    if not cost.is_finite() or cost < 0:
        raise Invalid(f"cost must be a non-negative amount of USD, got {value!r}")
    if cost > MAX_COST_USD:
        raise Invalid(f"cost must be at most {MAX_COST_USD} USD for one event, got {value!r}")
    return cost
