"""Parsing the timestamps clients send into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime


def parse_timestamp(value: object) -> datetime | None:
    """ISO 8601 in every variant the agentops clients write (`+00:00` with microseconds, `Z` with
    milliseconds, no fraction, naive = UTC) or epoch seconds/milliseconds. None and "" give None;
    anything else unparsable raises ValueError."""
    if type(value) is str and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = datetime.fromisoformat(value.strip())
        tz = parsed.tzinfo
        if tz is UTC:
            return parsed
        if tz is None:
            return parsed.replace(tzinfo=UTC)
        if parsed.date() in (date.min, date.max) and parsed.utcoffset():
            # the calendar's first and last day with an offset: refused whole, as the API
            # document says (its UTC time may lie outside the calendar)
            raise ValueError(f"timestamp {value!r} is out of range (first or last day, offset)")
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError(f"timestamp {value!r} is out of range") from exc
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:  # an int too large for a float overflows already in the division
            seconds = value / 1000 if abs(value) > 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"timestamp {value!r} is out of range") from exc
    raise ValueError(f"expected an ISO 8601 string, got {type(value).__name__}")


def iso(value: datetime | None) -> str | None:
    """The ISO 8601 form used in every API response (UTC, `+00:00`)."""
    return None if value is None else value.isoformat()
