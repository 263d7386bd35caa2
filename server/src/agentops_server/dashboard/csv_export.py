"""Lists as CSV downloads: the sessions list with its filters, every page of it, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any, Final

MAX_ROWS: Final = 100_000
SESSION_COLUMNS: Final = (
    "id", "name", "started", "ended", "duration_seconds", "end_state", "end_state_reason",
    "tags", "llm_calls", "tool_calls", "actions", "errors", "prompt_tokens",
    "completion_tokens", "cost_usd", "unpriced_llm_calls",
)  # fmt: skip
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")

Page = Callable[[str | None], dict[str, Any]]
"""Reads one page of the list from a cursor: {"data": rows, "next_cursor": ...}."""


def cell(value: Any) -> str:
    """A value as a CSV cell; text that a spreadsheet would run as a formula is quoted with
    a leading apostrophe (agent text is data, never a formula)."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def session_csv(read_page: Page) -> Iterator[str]:
    """The header, then one line per session of every page, up to MAX_ROWS."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SESSION_COLUMNS)
    yield _drain(out)
    cursor: str | None = None
    written = 0
    while written < MAX_ROWS:
        page = read_page(cursor)
        for row in page["data"][: MAX_ROWS - written]:
            writer.writerow([cell(v) for v in _session_cells(row)])
            written += 1
        yield _drain(out)
        cursor = page["next_cursor"]
        if not cursor:
            break


def _session_cells(row: dict[str, Any]) -> list[Any]:
    stats, counts = row["stats"], row["stats"]["event_counts"]
    return [
        row["id"],
        row.get("name"),
        row["init_timestamp"],
        row["end_timestamp"],
        round(row["duration_seconds"], 3),
        "Running" if row.get("running") else row["end_state"],
        row["end_state_reason"],
        ";".join(row["tags"]),
        counts["llms"],
        counts["tools"],
        counts["actions"],
        counts["errors"],
        stats["prompt_tokens"],
        stats["completion_tokens"],
        stats["cost"],
        stats.get("unknown_cost_events"),
    ]


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
