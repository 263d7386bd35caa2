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
from collections.abc import Iterable
from typing import Any, Protocol

from agentops_server.storage.payload_content import LOG_RECORDS

MAX_EVENT_CHARS = 8000
MAX_QUERY_WORDS = 8
MAX_DEPTH = 12  # containers nested deeper than this are not read
PREFIX_FROM = 3  # query words this long match as prefixes ("gpt" finds "gpt4")
WORD = re.compile(r"[^\W_]+")
SKIPPED_KEYS = frozenset(
    {"id", "event_id", "session_id", "parent_id", "agent_id", "trace_id", "span_id"}
    | {"init_timestamp", "end_timestamp", "timestamp", "event_type", "role"}
    | {LOG_RECORDS}  # the keys of the log records an LLM event took its content from
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
        strings = seen.get(event.session_id)
        if strings is None:
            strings = seen[event.session_id] = {}
        name, model = event.name, event.model
        head = [name] if name else []
        if model and model != name:
            head.append(model)
        budget = _gather(head, 0, strings, MAX_EVENT_CHARS)
        payload = event.payload
        if budget > 0:
            if isinstance(payload, str):
                _gather([payload], 0, strings, budget)
            elif isinstance(payload, (dict, list)):
                _gather(payload, 0, strings, budget)
    return {session_id: "\n".join(found) for session_id, found in seen.items() if found}


def _gather(
    value: dict[Any, Any] | list[Any], depth: int, strings: dict[str, None], budget: int
) -> int:
    """Add the non-empty strings under `value` (depth first, in order, skipping SKIPPED_KEYS
    and containers nested deeper than MAX_DEPTH) that `strings` lacks, until `budget`
    characters are taken (the last one cut to fit); returns the budget left.

    One plain recursive function with the dedup inline: the hot path of ingest (a generator
    per container cost more than everything else the write does in Python)."""
    items: Iterable[Any] = value
    if isinstance(value, dict):
        # most dicts have no skipped key, which one pass in C over the keys proves
        items = (
            value.values()
            if SKIPPED_KEYS.isdisjoint(value)
            else [item for key, item in value.items() if key not in SKIPPED_KEYS]
        )
    for item in items:
        if isinstance(item, str):
            if item and item not in strings:
                if len(item) > budget:
                    item = item[:budget]
                strings[item] = None
                budget -= len(item)
                if budget <= 0:
                    return budget
        elif depth < MAX_DEPTH and isinstance(item, (dict, list)):
            budget = _gather(item, depth + 1, strings, budget)
            if budget <= 0:
                return budget
    return budget


def words(text: str) -> str:
    """The words of `text`, lower-cased and joined by spaces (what PostgreSQL indexes)."""
    return " ".join(WORD.findall(text.lower()))


def query_words(text: str) -> list[str]:
    """The words of a search (at most MAX_QUERY_WORDS); all of them must match."""
    found = list(dict.fromkeys(WORD.findall(text.lower())))
    return found[:MAX_QUERY_WORDS]
