"""Records of the dashboard's reads and of dashboard accounts. No SQL, no I/O.

They cross the Store boundary like storage/records.py; kept apart so the dashboard's additions
stay in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class User:
    """A dashboard account. `password_hash` is an scrypt string (auth/passwords.py)."""

    id: str
    email: str
    password_hash: str
    created_at: datetime
    signin_generation: int = 0  # "sign out everywhere" increments it


class SessionSort(StrEnum):
    """Orders of the dashboard's session list; each is keyset-paginated with an index."""

    NEWEST = "newest"
    OLDEST = "oldest"
    COST = "cost"  # most expensive first
    DURATION = "duration"  # longest first


@dataclass(frozen=True, slots=True)
class OverviewTotals:
    sessions: int
    success: int
    fail: int
    indeterminate: int
    events: int
    llms: int
    tools: int
    actions: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int
    unknown_cost_events: int


@dataclass(frozen=True, slots=True)
class Latency:
    """Durations of LLM calls, in ms (nearest-rank percentiles; None without a call)."""

    calls: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass(frozen=True, slots=True)
class BucketPoint:
    """One UTC hour or day of the overview charts: the sessions that started in it."""

    start: datetime
    sessions: int
    success: int
    fail: int
    indeterminate: int
    with_errors: int  # sessions with at least one error event
    cost_nanos: int
    prompt_tokens: int
    completion_tokens: int
    llm: Latency = Latency()


@dataclass(frozen=True, slots=True)
class ModelCost:
    """LLM calls of one model. A failed call carries no token and no cost (a provider error,
    such as a 429); an unpriced one has tokens but no price."""

    model: str | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int
    unknown_cost_calls: int  # failed + unpriced
    failed_calls: int = 0
    unpriced_calls: int = 0
    llm: Latency = Latency()


@dataclass(frozen=True, slots=True)
class Overview:
    totals: OverviewTotals
    bucket: str  # "hour" or "day"
    points: list[BucketPoint]  # only the buckets with sessions, in time order
    models: list[ModelCost]  # every model, the most used first
    llm: Latency = Latency()


@dataclass(frozen=True, slots=True)
class LaneBucket:
    """How many events of one type start within one slice of a session's timeline."""

    index: int
    event_type: str
    count: int


@dataclass(frozen=True, slots=True)
class EventBrief:
    """An event without its payload: what the waterfall draws."""

    id: str
    event_type: str
    init_timestamp: datetime
    end_timestamp: datetime | None
    name: str | None
    model: str | None
    agent_id: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_nanos: int | None
    cost_source: str
    seq: int
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One row of the waterfall's tree: an event without its payload, and how many events name
    it as their parent: all of them, or (`child_count_exact` False) the first 1,000."""

    event: EventBrief
    child_count: int
    child_count_exact: bool = True


@dataclass(frozen=True, slots=True)
class TreeLevel:
    """One keyset page of a level of a session's event tree: the children of one event, or
    the top level. `running` is how many nodes at the front started before the page's `since`
    and were still running then."""

    nodes: list[TreeNode]
    next_cursor: str | None
    running: int = 0


@dataclass(frozen=True, slots=True)
class EventDensity:
    """Events of a session per lane and time slice, for a zoomed-out waterfall."""

    start_ms: int
    end_ms: int
    bucket_ms: float
    total: int
    buckets: list[LaneBucket]


@dataclass(frozen=True, slots=True)
class EventMatch:
    """Which events of a session to list: by type, by a part of the name or model (any case),
    by agent id. Unset fields match everything."""

    event_type: str | None = None
    name: str | None = None
    model: str | None = None
    agent_id: str | None = None

    def is_empty(self) -> bool:
        return not (self.event_type or self.name or self.model or self.agent_id)


@dataclass(frozen=True, slots=True)
class EventWindow:
    """One keyset page of a session's events (without payloads) inside a time window."""

    events: list[EventBrief]
    next_cursor: str | None


@dataclass(slots=True)
class SessionExtras:
    """What the sessions list shows beside a session (storage/session_extras.py)."""

    agents: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    preview: str | None = None  # the first LLM call's input, shortened
