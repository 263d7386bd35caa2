"""Plain records that cross the Store boundary. No SQL, no I/O.

Costs are integers in nano-USD (1e-9 dollars) so that sums are exact on every engine;
`cost_nanos=None` means "unknown" (see CostSource). Timestamps are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

NANOS_PER_USD = 1_000_000_000


def nanos_to_usd(nanos: int | None) -> Decimal | None:
    """Exact conversion of stored nano-USD to dollars."""
    if nanos is None:
        return None
    return Decimal(nanos) / NANOS_PER_USD


def usd_to_nanos(usd: Decimal) -> int:
    """Dollars to nano-USD, rounded half-even to the nearest nano-dollar."""
    return int((usd * NANOS_PER_USD).to_integral_value())


class CostSource(str, Enum):  # noqa: UP042 (StrEnum would change str())
    """Where an event's cost came from."""

    REPORTED = "reported"  # the client sent a cost
    COMPUTED = "computed"  # priced on the server from model and tokens
    OVERRIDE = "override"  # priced from a per-project price override
    UNKNOWN_MODEL = "unknown_model"  # the model has no known price: cost unknown
    UNKNOWN_TOKENS = "unknown_tokens"  # token counts missing: cost unknown
    NONE = "none"  # not an LLM event: no cost


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: only a hash of the key and a short prefix for display."""

    id: str
    project_id: str
    label: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionWrite:
    """What create_session / update_session carry, already validated and normalized.

    `None` means "not sent" for the optional fields: the stored value is kept.
    """

    id: str
    project_id: str
    init_timestamp: datetime | None = None
    end_timestamp: datetime | None = None
    end_state: str | None = None  # "Success" | "Fail" | "Indeterminate"
    end_state_reason: str | None = None
    tags: list[str] | None = None
    host_env: dict[str, Any] | None = None
    video: str | None = None
    parent_project_id: str | None = None
    name: str | None = None  # an OTLP trace's root span name
    metadata: dict[str, Any] | None = None  # merged key by key into what is stored
    root_span_id: str | None = None  # an OTLP trace's root span, once it arrived
    dropped_events: dict[str, int] | None = None  # the SDK's cumulative losses, by reason
    attached: bool = False
    """Sent by a process that re-attached to the session (an inherited session): its `tags`
    add to the stored ones instead of replacing the owner's."""


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~1.4 us more, once per event
class EventWrite:
    """One event to append. `payload` holds every wire field not lifted into a column.
    Treat it as immutable once built."""

    id: str
    session_id: str
    event_type: str  # llms | actions | tools | errors (unknown types arrive here as actions)
    init_timestamp: datetime
    end_timestamp: datetime | None
    agent_id: str | None
    name: str | None  # action_type, tool name, error_type or model, by type
    model: str | None
    provider: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    cost_nanos: int | None
    cost_source: CostSource
    payload: dict[str, Any]
    parent_id: str | None = None  # the parent event's id; None directly under the session


@dataclass(frozen=True, slots=True)
class SessionStats:
    """The exact per-session rollup, kept in the same transaction as the events."""

    session_id: str
    events: int = 0
    llms: int = 0
    tools: int = 0
    actions: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_nanos: int = 0
    unknown_cost_events: int = 0  # LLM events whose cost could not be priced
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    project_id: str
    init_timestamp: datetime
    end_timestamp: datetime | None
    end_state: str
    end_state_reason: str | None
    tags: list[str]
    host_env: dict[str, Any] | None
    video: str | None
    parent_project_id: str | None
    created_at: datetime
    auto_ended: bool
    stats: SessionStats
    name: str | None = None
    metadata: dict[str, Any] | None = None
    root_span_id: str | None = None
    dropped_events: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    session_id: str
    event_type: str
    init_timestamp: datetime
    end_timestamp: datetime | None
    agent_id: str | None
    name: str | None
    model: str | None
    provider: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    cost_nanos: int | None
    cost_source: str
    payload: dict[str, Any]
    seq: int  # insertion order, the tie-breaker for keyset pagination
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class UsageFill:
    """New figures for a stored LLM event, from a later span of the same call: its token counts
    (prompt, completion, cache read, cache write, reasoning) and cost as read (`before`) and as
    they become (`after`), applied only if the event still holds `before`."""

    session_id: str
    event_id: str
    model: str | None
    before: tuple[int | None, ...]
    after: tuple[int | None, ...]
    cost_source: str


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    session_id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Filters for listing sessions. All are optional and combine with AND."""

    tags: tuple[str, ...] = ()  # every one must be on the session
    end_state: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    # words of its events (prompts, completions, tool params and returns, errors), agent
    # names, name or end reason; or a tag, or the start of its id
    text: str | None = None
    model: str | None = None  # an LLM call of the session used this model
    agent: str | None = None  # an agent of the session has this name
    min_cost_nanos: int | None = None
    max_cost_nanos: int | None = None
    min_duration_ms: int | None = None  # ended sessions only, when either bound is set
    max_duration_ms: int | None = None
    metadata: tuple[tuple[str, str], ...] = ()  # (key, value): metadata[key] == value


@dataclass(frozen=True, slots=True)
class SessionPage:
    sessions: list[Session]
    next_cursor: str | None  # opaque; pass back to get the next page


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A per-project price for a model, in USD per million tokens."""

    project_id: str
    model: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append_events call changed: newly stored events (duplicates are skipped)."""

    inserted: int
    duplicates: int
    session_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PendingOtlp:
    """OTLP records waiting to be stored: spans exported before the agentops 0.4 client had its
    token (project_id None), or GenAI log records whose span has not arrived yet."""

    trace_id: str
    project_id: str | None
    kind: str  # "spans" | "logs" | "upload" (agentops 0.4's logfile text)
    body: str  # JSON, as ingest/otlp encodes the records; an upload's text as it came
    received_at: datetime
    span_id: str | None = None
    """The span that log content waits for (None: spans, uploads, and log content an earlier
    version held for a whole trace)."""


@dataclass(frozen=True, slots=True)
class TakenContent:
    """What a join makes of the log content it took for some stored spans (see
    Store.join_content): each span's records to merge into its event, the rows of those spans
    (held again for a span whose event is gone), and rows for other spans, held again."""

    merges: dict[str, dict[str, dict[str, Any]]]  # span id: Records (payload_content.py)
    mine: list[PendingOtlp]
    rest: list[PendingOtlp]


PENDING_ROW_OVERHEAD = 256
"""Bytes a held row counts for beyond its body, so that the byte limit on what waits
(AGENTOPS_OTLP_PENDING_BYTES) bounds the number of rows too."""


def pending_size(body: str) -> int:
    """What one held row counts toward AGENTOPS_OTLP_PENDING_BYTES."""
    return len(body.encode()) + PENDING_ROW_OVERHEAD


@dataclass(frozen=True, slots=True)
class SessionLog:
    """Text a client uploaded for a session (agentops 0.4's captured print() output)."""

    session_id: str
    received_at: datetime
    body: str


@dataclass(frozen=True, slots=True)
class StoredObject:
    id: str
    project_id: str
    created_at: datetime
    size: int
    body: str
