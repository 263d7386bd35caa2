"""What a valid alert rule is: its kind, threshold, window and webhook, checked once at the edge
(REST, CLI, dashboard) with a message that says what to change."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from agentops_server.storage.alert_conditions import LOOKBACK
from agentops_server.storage.alert_records import AlertKind, AlertRuleWrite

KINDS = tuple(k.value for k in AlertKind)
THRESHOLD_UNIT = {
    AlertKind.SESSION_COST: "USD",
    AlertKind.SESSION_DURATION: "seconds",
    AlertKind.DAILY_COST: "USD",
    AlertKind.ERROR_RATE: "percent",
}
DESCRIPTIONS = {
    AlertKind.SESSION_FAILED: "a session ended with Fail",
    AlertKind.SESSION_COST: "a session's cost went over {threshold} USD",
    AlertKind.SESSION_DURATION: "a session ran longer than {threshold} s",
    AlertKind.SESSION_UNENDED: "a session never ended (closed by the inactivity sweep)",
    AlertKind.DAILY_COST: "the project's cost of a UTC day went over {threshold} USD",
    AlertKind.ERROR_RATE: "over {threshold}% of the sessions that ended in {window} min failed",
}
DEFAULT_WINDOW_MINUTES = 60
MAX_WINDOW_MINUTES = 7 * 24 * 60
DEFAULT_MIN_SESSIONS = 5
MAX_MIN_SESSIONS = 1_000_000
MAX_THRESHOLD = Decimal(1_000_000_000)
# Session rules read the sessions started within LOOKBACK (2 days): a longer duration could never
# be seen, and one close to it only in a moment; half of it leaves a day to notice.
MAX_DURATION_SECONDS = int(LOOKBACK.total_seconds()) // 2
MAX_URL_LENGTH = 2000
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_HOST = r"([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
WEBHOOK_PATTERN = rf"^https?://{_HOST}(:{_PORT})?(/[!-~]*)?$"
"""http(s), a host name or address, an optional port, a path of printable ASCII; the REST
API's schema states the same pattern."""


class InvalidRule(ValueError):
    """A rule that cannot be used; the message says which field and why."""


def describe(kind: str, threshold: Decimal | None, window_minutes: int | None) -> str:
    """The rule in words, e.g. "a session's cost went over 5 USD"."""
    return DESCRIPTIONS[AlertKind(kind)].format(threshold=threshold, window=window_minutes)


def parse_rule(
    project_id: str,
    kind: str,
    threshold: object,
    webhook_url: str,
    *,
    window_minutes: int | None = None,
    min_sessions: int | None = None,
) -> AlertRuleWrite:
    try:
        chosen = AlertKind(kind)
    except ValueError:
        raise InvalidRule(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}") from None
    unit = THRESHOLD_UNIT.get(chosen)
    if unit is None:
        if threshold is not None:
            raise InvalidRule(f"{chosen.value} takes no threshold")
        limit = None
    else:
        limit = _threshold(chosen, threshold, unit)
    window: int | None = None
    least: int | None = None
    if chosen == AlertKind.ERROR_RATE:
        window = _whole("window_minutes", window_minutes, DEFAULT_WINDOW_MINUTES, 1)
        if window > MAX_WINDOW_MINUTES:
            raise InvalidRule(f"window_minutes must be at most {MAX_WINDOW_MINUTES} (7 days)")
        least = _whole("min_sessions", min_sessions, DEFAULT_MIN_SESSIONS, 1)
        if least > MAX_MIN_SESSIONS:
            raise InvalidRule(f"min_sessions must be at most {MAX_MIN_SESSIONS}")
    elif window_minutes is not None or min_sessions is not None:
        raise InvalidRule("window_minutes and min_sessions apply to error_rate rules only")
    return AlertRuleWrite(
        project_id=project_id,
        kind=chosen.value,
        threshold=limit,
        window_minutes=window,
        min_sessions=least,
        webhook_url=parse_webhook_url(webhook_url),
    )


def parse_webhook_url(url: str) -> str:
    if len(url) > MAX_URL_LENGTH or re.search(WEBHOOK_PATTERN, url) is None:
        raise InvalidRule(
            f"webhook_url must be an http:// or https:// URL (a host, an optional port and "
            f"path, at most {MAX_URL_LENGTH} characters), got {url[:100]!r}"
        )
    return url.rstrip("\n")


def _threshold(kind: AlertKind, raw: object, unit: str) -> Decimal:
    if raw is None or raw == "":
        raise InvalidRule(f"{kind.value} needs a threshold ({unit})")
    if isinstance(raw, bool):
        raise InvalidRule(f"threshold must be a number ({unit}), got {raw!r}")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidRule(f"threshold must be a number ({unit}), got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise InvalidRule(f"threshold must be a positive number ({unit}), got {raw!r}")
    if kind == AlertKind.ERROR_RATE and value >= 100:
        raise InvalidRule(f"threshold must be below 100 (percent), got {raw!r}")
    if kind == AlertKind.SESSION_DURATION and value > MAX_DURATION_SECONDS:
        raise InvalidRule(
            f"threshold must be at most {MAX_DURATION_SECONDS} (seconds, 1 day): session rules "
            f"look at the sessions started in the last 2 days, got {raw!r}"
        )
    if value > MAX_THRESHOLD:
        raise InvalidRule(f"threshold must be at most {MAX_THRESHOLD} ({unit}), got {raw!r}")
    return value


def _whole(name: str, value: int | None, default: int, minimum: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidRule(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return value
