"""Finding sessions: full-text search over what their events hold, and every filter at once,
in every order, on both engines."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agentops_server.storage.dashboard_records import SessionSort
from agentops_server.storage.records import SessionFilter, SessionWrite
from agentops_server.storage.sql_store import SqlStore
from tests.storage.builders import Seed, at, event


def _ids(
    store: SqlStore, seed: Seed, sort: SessionSort = SessionSort.NEWEST, **kw: object
) -> list[str]:
    """Every page of the sorted listing, two sessions a page."""
    filters = SessionFilter(**kw)  # type: ignore[arg-type]
    found: list[str] = []
    cursor = None
    for _ in range(50):
        page = store.list_sessions_sorted(seed.project_id, filters, sort, cursor, 2)
        found += [s.id for s in page.sessions]
        cursor = page.next_cursor
        if cursor is None:
            return found
    raise AssertionError("pagination did not end")


@pytest.fixture
def world(store: SqlStore, seed: Seed) -> Seed:
    """Four sessions whose events say different things, and a foreign project's twin."""
    seed.session("chat", start=1, tags=["prod", "research-agent"])
    seed.session("tools", start=2, tags=["prod"])
    seed.session("broken", start=3, tags=["research-agent"])
    seed.session("quiet", start=4, tags=["prod", "research-agent"])
    prompt = {"prompt": [{"role": "user", "content": "Summarise the Zanzibar report"}]}
    completion = {"completion": {"role": "assistant", "content": "Cloves grow there."}}
    store.append_events(
        [
            event("chat", "c1", payload={**prompt, **completion}, cost_nanos=5_000_000),
            replace(event("tools", "t0", cost_nanos=None), model="claude-3-5-haiku"),
            event("tools", "t1", event_type="tools",
                  payload={"params": {"city": "Reykjavik"}, "returns": {"temp": "minus four"}}),
            event("broken", "b1", event_type="errors",
                  payload={"error_type": "RateLimitError", "details": "quota exhausted for org"}),
            event("quiet", "q1", event_type="actions", payload={"params": {"x": 1}}),
        ]
    )  # fmt: skip
    store.upsert_agent("quiet", "agent-1", "Librarian")
    for sid, seconds in (("chat", 60), ("tools", 5), ("broken", 30)):
        write = SessionWrite(
            id=sid, project_id=seed.project_id, end_timestamp=at(seconds), end_state="Success"
        )
        store.write_session(write, create=False)
    store.write_session(
        SessionWrite(id="quiet", project_id=seed.project_id, metadata={"team": "blue", "n": 3}),
        create=False,
    )
    other = Seed.create(store, "other")
    other.session("foreign", start=5, tags=["prod"])
    store.append_events([event("foreign", "f1", payload={**prompt, **completion})])
    return seed


@pytest.mark.parametrize("sort", list(SessionSort))
def test_text_finds_what_events_hold_in_every_order(
    store: SqlStore, world: Seed, sort: SessionSort
) -> None:
    def ids(text: str) -> list[str]:
        return sorted(_ids(store, world, sort, text=text))

    assert ids("zanzibar") == ["chat"]  # a prompt, not the foreign project's copy
    assert ids("Cloves") == ["chat"]  # a completion
    assert ids("reykjavik") == ["tools"]  # a tool's parameters
    assert ids("minus four") == ["tools"]  # its returns, every word
    assert ids("RateLimitError") == ["broken"]  # an error's type
    assert ids("quota org") == ["broken"]  # and its message
    assert ids("librarian") == ["quiet"]  # an agent's name
    assert ids("zanz") == ["chat"]  # the start of a word
    assert ids("claude") == ["tools"]  # a model
    assert ids("zanzibar quota") == []  # all words must match in one session
    assert ids("nowhere-to-be-found") == []
    assert ids("prod") == ["chat", "quiet", "tools"]  # a tag, exactly


@pytest.mark.parametrize("sort", list(SessionSort))
def test_filters_combine(store: SqlStore, world: Seed, sort: SessionSort) -> None:
    def ids(**kw: object) -> list[str]:
        return sorted(_ids(store, world, sort, **kw))

    assert ids(tags=("prod", "research-agent")) == ["chat", "quiet"]  # all tags must match
    assert ids(tags=("research-agent", "prod")) == ["chat", "quiet"]
    assert ids(tags=("prod", "nope")) == []
    assert ids(model="gpt-4o") == ["chat"]
    assert ids(model="claude-3-5-haiku") == ["tools"]
    assert ids(model="gpt") == []  # a model filter is exact
    assert ids(agent="Librarian") == ["quiet"]
    assert ids(min_cost_nanos=1_000_000) == ["chat"]
    assert ids(max_cost_nanos=1_000_000) == ["broken", "quiet", "tools"]
    assert ids(min_duration_ms=10_000) == ["broken", "chat"]
    assert ids(min_duration_ms=10_000, max_duration_ms=40_000) == ["broken"]
    assert ids(metadata=(("team", "blue"),)) == ["quiet"]
    assert ids(metadata=(("n", "3"),)) == ["quiet"]
    assert ids(metadata=(("team", "red"),)) == []
    assert ids(tags=("prod",), text="zanzibar", model="gpt-4o") == ["chat"]
    assert ids(tags=("prod",), text="zanzibar", model="claude-3-5-haiku") == []
    assert ids(text="prod", max_duration_ms=10_000) == ["tools"]


def test_order_is_kept_with_text_search(store: SqlStore, world: Seed) -> None:
    assert _ids(store, world, text="prod") == ["quiet", "tools", "chat"]
    assert _ids(store, world, SessionSort.OLDEST, text="prod") == ["chat", "tools", "quiet"]
    assert _ids(store, world, SessionSort.COST, tags=("prod",), text="prod")[0] == "chat"


def test_rest_listing_finds_by_words_too(store: SqlStore, world: Seed) -> None:
    """The REST API and the CLI list through Store.list_sessions."""
    page = store.list_sessions(world.project_id, SessionFilter(text="cloves"), None, 10)
    assert [s.id for s in page.sessions] == ["chat"] and page.next_cursor is None
    both = SessionFilter(tags=("prod", "research-agent"), model="gpt-4o")
    assert [s.id for s in store.list_sessions(world.project_id, both, None, 10).sessions] == [
        "chat"
    ]


def test_events_sent_again_are_indexed_once(store: SqlStore, world: Seed) -> None:
    """A retried batch stores nothing new, so it adds no words either."""
    again = event("chat", "c1", payload={"prompt": "a brand new word: quixotic"})
    store.append_events([again])
    assert _ids(store, world, text="quixotic") == []


def test_words_may_come_in_different_batches(store: SqlStore, world: Seed) -> None:
    """A live agent's events arrive over many requests: the words of a search may sit in
    different ones."""
    store.append_events([event("quiet", "q2", payload={"completion": "a marmalade sandwich"})])
    store.append_events([event("quiet", "q3", payload={"completion": "with extra toast"})])
    assert _ids(store, world, text="marmalade toast") == ["quiet"]
    assert _ids(store, world, text="marmalade librarian") == ["quiet"]  # an agent's name too
    assert _ids(store, world, text="marmalade zanzibar") == []
