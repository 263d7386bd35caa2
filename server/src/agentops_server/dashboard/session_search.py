"""The sessions list's query string: every filter, parsed into a SessionFilter, and the form
values shown back. Repeated `tag` and `meta` parameters all apply (all must match)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import QueryParams

from agentops.wire import EndState
from agentops_server.dashboard.context import BadInput, day_range
from agentops_server.storage.records import SessionFilter

MAX_VALUES = 10  # tags or metadata pairs in one search
MAX_TEXT = 500


def parse(params: QueryParams) -> tuple[SessionFilter, dict[str, Any]]:
    single = dict(params)
    start, end, dates = day_range(single, default_days=None)
    after, before = _moment(single.get("after"), "after"), _moment(single.get("before"), "before")
    if after is not None:
        start = after if start is None else max(start, after)
    if before is not None:
        end = before if end is None else min(end, before)
    listed = [t for value in params.getlist("tags") for t in value.split(",")]  # the form's
    tags = tuple(dict.fromkeys(t.strip() for t in [*params.getlist("tag"), *listed] if t.strip()))
    metadata = tuple(_pair(m) for m in params.getlist("meta") if m.strip())
    if len(tags) > MAX_VALUES or len(metadata) > MAX_VALUES:
        raise BadInput(f"at most {MAX_VALUES} tags and {MAX_VALUES} metadata filters")
    text = (single.get("q") or "").strip()
    if len(text) > MAX_TEXT:
        raise BadInput(f"the search text is longer than {MAX_TEXT} characters")
    filters = SessionFilter(
        tags=tags,
        end_state=_end_state(single.get("end_state")),
        started_after=start,
        started_before=end,
        text=text or None,
        model=(single.get("model") or "").strip() or None,
        agent=(single.get("agent") or "").strip() or None,
        min_cost_nanos=_usd_nanos(single.get("cost_min"), "cost_min"),
        max_cost_nanos=_usd_nanos(single.get("cost_max"), "cost_max"),
        min_duration_ms=_seconds_ms(single.get("duration_min"), "duration_min"),
        max_duration_ms=_seconds_ms(single.get("duration_max"), "duration_max"),
        metadata=metadata,
    )
    form = {
        **dates,
        "q": text,
        "tags": list(tags),
        "tag": ", ".join(tags),
        "end_state": filters.end_state or "",
        "model": filters.model or "",
        "agent": filters.agent or "",
        "cost_min": single.get("cost_min", ""),
        "cost_max": single.get("cost_max", ""),
        "duration_min": single.get("duration_min", ""),
        "duration_max": single.get("duration_max", ""),
        "meta": [f"{k}={v}" for k, v in metadata],
        "after": single.get("after", ""),
        "before": single.get("before", ""),
    }
    return filters, form


def _end_state(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return EndState(raw).value
    except ValueError:
        raise BadInput(
            f"end state must be Success, Fail or Indeterminate, not {raw[:20]!r}"
        ) from None


def _moment(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw)
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except ValueError:
        raise BadInput(f"{name} must be an ISO 8601 time, not {raw[:40]!r}") from None
    except OverflowError:
        raise BadInput(f"{name} is out of range once converted to UTC") from None


def _pair(raw: str) -> tuple[str, str]:
    key, sep, value = raw.partition("=")
    if not sep or not key.strip():
        raise BadInput(f"a metadata filter is key=value, not {raw[:40]!r}")
    return key.strip(), value.strip()


def _number(raw: str | None, name: str) -> Decimal | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise BadInput(f"{name} must be a number, not {raw[:20]!r}") from None
    if not value.is_finite() or value < 0 or value > 10**9:
        raise BadInput(f"{name} must be between 0 and 1,000,000,000")
    return value


def _usd_nanos(raw: str | None, name: str) -> int | None:
    value = _number(raw, name)
    return None if value is None else int(value * 10**9)


def _seconds_ms(raw: str | None, name: str) -> int | None:
    value = _number(raw, name)
    return None if value is None else int(value * 1000)
