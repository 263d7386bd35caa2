"""The words a session can be found by, and the words of a search.

A document gathers the text of one append's events of one session: the name, the model and
every string of the payload (prompts, completions, tool parameters and returns, error types,
messages and tracebacks), without ids and timestamps, each distinct string once (a chat
history re-sent with every call is indexed once per append), at most MAX_EVENT_CHARS per event.
Words are runs of letters and digits, lower-cased, as SQLite's unicode61 tokenizer cuts them;
PostgreSQL receives them already cut, so both engines index the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

MAX_EVENT_CHARS = 8000
MAX_QUERY_WORDS = 8
PREFIX_FROM = 3  # query words this long match as prefixes ("gpt" finds "gpt4")
WORD = re.compile(r"[^\W_]+")
SKIPPED_KEYS = frozenset(
    {"id", "event_id", "session_id", "parent_id", "agent_id", "trace_id", "span_id"}
    | {"init_timestamp", "end_timestamp", "timestamp", "event_type", "role"}
)


class Searchable(Protocol):
    """What a document is made of (an EventWrite, or a stored event's row)."""

    @property
    def session_id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def payload(self) -> Any: ...


def documents(events: Iterable[Searchable]) -> dict[str, str]:
    """One document per session of `events`: its events' searchable text, each string once."""
    seen: dict[str, dict[str, None]] = {}
    for event in events:
        strings = seen.setdefault(event.session_id, {})
        budget = MAX_EVENT_CHARS
        for value in _event_strings(event):
            if value in strings:
                continue
            if len(value) > budget:
                value = value[:budget]
            strings[value] = None
            budget -= len(value)
            if budget <= 0:
                break
    return {session_id: "\n".join(found) for session_id, found in seen.items() if found}


def _event_strings(event: Searchable) -> Iterator[str]:
    if event.name:
        yield event.name
    if event.model and event.model != event.name:
        yield event.model
    yield from _strings(event.payload, 0)


def _strings(value: Any, depth: int) -> Iterator[str]:
    if isinstance(value, str):
        if value:
            yield value
    elif depth > 12:
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in SKIPPED_KEYS:
                yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def words(text: str) -> str:
    """The words of `text`, lower-cased and joined by spaces (what PostgreSQL indexes)."""
    return " ".join(WORD.findall(text.lower()))


def query_words(text: str) -> list[str]:
    """The words of a search (at most MAX_QUERY_WORDS); all of them must match."""
    found = list(dict.fromkeys(WORD.findall(text.lower())))
    return found[:MAX_QUERY_WORDS]
