"""Dollars to nano-dollars for the few distinct amounts that recur on every event.

`usd_to_nanos` multiplies and rounds Decimals (~0.5 µs); the costs of one model at one usage,
or one tool's reported cost, repeat across spans, and a Decimal caches its hash.
"""

from __future__ import annotations

from decimal import Decimal

from agentops_server.remembered import Remembered
from agentops_server.storage.records import usd_to_nanos

__all__ = ["finite_usd_to_nanos"]

_MAX_REMEMBERED = 10_000
_NANOS: Remembered[Decimal, int] = Remembered(_MAX_REMEMBERED)


def finite_usd_to_nanos(usd: Decimal) -> int:
    """`usd_to_nanos` of a finite amount (a NaN cannot be a dict key), remembered."""
    nanos = _NANOS.get(usd)
    if nanos is None:
        nanos = _NANOS.keep(usd, usd_to_nanos(usd))
    return nanos
