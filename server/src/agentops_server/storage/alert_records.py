"""Plain records of alerts that cross the Store boundary: rules, firings and their attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any


class AlertKind(str, Enum):  # noqa: UP042 (str mixin kept: str() and format() unchanged)
    """What a rule watches. Session kinds fire once per session; the others once per UTC day
    (daily_cost) or once per episode over the threshold (error_rate)."""

    SESSION_FAILED = "session_failed"
    SESSION_COST = "session_cost"
    SESSION_DURATION = "session_duration"
    SESSION_UNENDED = "session_unended"
    DAILY_COST = "daily_cost"
    ERROR_RATE = "error_rate"


@dataclass(frozen=True, slots=True)
class AlertRuleWrite:
    """A new rule, already validated (see agentops_server.alerts.rules)."""

    project_id: str
    kind: str
    threshold: Decimal | None
    window_minutes: int | None
    min_sessions: int | None
    webhook_url: str


@dataclass(frozen=True, slots=True)
class AlertRule:
    id: str
    project_id: str
    kind: str
    threshold: Decimal | None
    window_minutes: int | None
    min_sessions: int | None
    webhook_url: str
    created_at: datetime
    breached: bool = False  # error rate: over the threshold at the last evaluation
    episode: int = 0  # error rate: how many times it went over


@dataclass(frozen=True, slots=True)
class AlertOccurrence:
    """Something a rule found: its key (unique per rule) and what it saw."""

    occurrence: str
    session_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertAttempt:
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class AlertFiring:
    id: str
    rule_id: str
    project_id: str
    occurrence: str
    session_id: str | None
    fired_at: datetime
    details: dict[str, Any]
    status: str  # pending | delivered | failed
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    history: list[AlertAttempt] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """A firing leased for delivery by one process, with where and what to send."""

    firing: AlertFiring
    rule: AlertRule
    project_name: str
    attempt: int  # the number of this attempt, from 1
