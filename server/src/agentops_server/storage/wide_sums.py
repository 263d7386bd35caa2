"""Exact sums of int64 columns on both engines.

SQLite's SUM raises "integer overflow" once a sum passes 2**63 (PostgreSQL's sum of a bigint
is a numeric, which never does): a project's nano-USD costs reach that at 9.2 billion USD, the
session limit times two. So each sum is taken in two 32-bit halves, which cannot overflow
below 2**31 rows, and joined again in Python (`joined`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

HALF = 2**32


def total(column: Any) -> Any:
    """SUM of `column`, 0 when there is no row."""
    return func.coalesce(func.sum(column), 0)


def wide_sum(column: Any, name: str) -> list[Any]:
    """The two halves of SUM(`column`), labelled for `joined` as `name`."""
    return [
        total(column // HALF).label(f"{name}__hi"),
        total(column % HALF).label(f"{name}__lo"),
    ]


def joined(row: Any) -> dict[str, Any]:
    """A result row (a mapping) with each wide sum's two halves joined into one exact int."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name, _, half = key.partition("__")
        if half == "hi":
            out[name] = out.get(name, 0) + int(value) * HALF
        elif half == "lo":
            out[name] = out.get(name, 0) + int(value)
        else:
            out[key] = value
    return out
