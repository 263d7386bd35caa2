"""Values the store indexes (tags, model names, agent names) are cut to MAX_KEY_CHARS: at most
2,000 bytes of UTF-8, inside PostgreSQL's limit of 2,704 bytes for one index entry (a longer
value made the whole batch fail there). Cut, not refused: a 422 would lose the whole batch
for one absurd name, and no real tag, model or agent name comes near the limit."""

from __future__ import annotations

MAX_KEY_CHARS = 500


def index_key(value: str) -> str:
    """`value`, or its first MAX_KEY_CHARS characters (trailing spaces dropped)."""
    return value if len(value) <= MAX_KEY_CHARS else value[:MAX_KEY_CHARS].rstrip()


def optional_index_key(value: str | None) -> str | None:
    return None if value is None else index_key(value)
