"""OTLP nanosecond timestamps as aware UTC datetimes, exact to the microsecond.

Every span needs two of them. `EPOCH + timedelta(...)` builds two objects and does datetime
arithmetic each time; spans of one request share their seconds, so the calendar fields of
each second are computed once and a call only builds the datetime from them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentops_server.remembered import Remembered

__all__ = ["EPOCH", "to_time"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SECONDS = 100_000
"""Distinct seconds remembered at most (cleared when full: timestamps come from clients)."""
_Fields = tuple[int, int, int, int, int, int]
_SECONDS: Remembered[int, _Fields] = Remembered(_MAX_SECONDS)


def to_time(ns: int) -> datetime:
    us = ns // 1000
    second = us // 1_000_000
    fields = _SECONDS.get(second)
    if fields is None:
        fields = _calendar(second)
    return datetime(*fields, us - second * 1_000_000, UTC)


def _calendar(second: int) -> _Fields:
    moment = EPOCH + timedelta(seconds=second)
    fields = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return _SECONDS.keep(second, fields)
