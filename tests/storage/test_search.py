"""Finding sessions: full-text search over what their events hold, and every filter at once,
in every order, on both engines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from agentops_server.storage.dashboard_records import SessionSort
from agentops_server.storage.engine import create_admin_engine
from agentops_server.storage.records import SessionFilter, SessionWrite
from agentops_server.storage.schema import search_docs
from agentops_server.storage.search_index import FTS_TABLE
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


# --- what a session shows now: its name, end reason and agents' names are replaced, never
# piled up (an event's words stay as they were stored) ------------------------------------------


SWEPT = ("ends", "ends-quietly", "lives")
NO_END = "No end received: no activity for 300 s (process exited without end_session?)"


def _found(store: SqlStore, seed: Seed, text: str) -> list[str]:
    return sorted(_ids(store, seed, text=text))


def _update(store: SqlStore, seed: Seed, session_id: str, **fields: Any) -> None:
    store.write_session(SessionWrite(session_id, seed.project_id, **fields), create=False)


def test_a_new_end_reason_replaces_the_old_one(store: SqlStore, seed: Seed) -> None:
    seed.session("s", start=1)
    store.append_events([event("s", "e1", payload={"prompt": "count the marmalade jars"})])
    _update(store, seed, "s", end_state="Fail", end_state_reason="ran out of crumpets")
    assert _found(store, seed, "crumpets") == ["s"]
    _update(store, seed, "s", end_state="Success", end_state_reason="every jar counted")
    assert _found(store, seed, "crumpets") == []
    assert _found(store, seed, "counted jar") == ["s"]
    assert _found(store, seed, "marmalade") == ["s"]  # its events' words stay


def test_the_sweepers_reason_is_found_until_an_end_or_an_event_clears_it(
    store: SqlStore, seed: Seed
) -> None:
    """The sweeper's "no end received" is the session's reason until the real end replaces
    it (with or without a reason of its own), or an event shows the session alive."""
    for sid in SWEPT:
        seed.session(sid, start=1)
        store.append_events([event(sid, f"{sid}-1", payload={"prompt": "weigh the anchor"})])
    idle_since = datetime.now(UTC) + timedelta(days=1)
    assert store.close_inactive_sessions(idle_since, NO_END) == 3
    assert _found(store, seed, "exited without") == ["ends", "ends-quietly", "lives"]
    _update(store, seed, "ends", end_state="Fail", end_state_reason="quota exhausted")
    _update(store, seed, "ends-quietly", end_state="Success")
    store.append_events([event("lives", "lives-2", payload={"prompt": "hoist the sails"})])
    reasons = [store.get_session(seed.project_id, s).end_state_reason for s in SWEPT]
    assert reasons == ["quota exhausted", None, None]
    assert _found(store, seed, "exited without") == []
    assert _found(store, seed, "quota") == ["ends"]
    assert _found(store, seed, "anchor") == ["ends", "ends-quietly", "lives"]


def test_a_renamed_session_is_found_by_its_new_name_only(store: SqlStore, seed: Seed) -> None:
    """An OTLP trace's root names its session when it arrives (a re-attach), and an update
    may rename it again."""
    seed.session("s", start=1, name="nightly crawler")
    store.append_events([event("s", "e1", payload={"prompt": "the nightly report"})])
    assert _found(store, seed, "crawler") == ["s"]
    store.create_sessions([SessionWrite(id="s", project_id=seed.project_id, name="weekly digest")])
    assert _found(store, seed, "crawler") == []
    assert _found(store, seed, "weekly digest") == ["s"]
    _update(store, seed, "s", name="monthly ledger")
    assert (_found(store, seed, "digest"), _found(store, seed, "ledger")) == ([], ["s"])
    assert _found(store, seed, "nightly") == ["s"]  # a word of its events, too
    store.create_sessions([SessionWrite(id="s", project_id=seed.project_id)])  # no name sent
    assert _found(store, seed, "ledger") == ["s"]
    _update(store, seed, "s", tags=["night-shift"])  # tags match as they are now, too
    _update(store, seed, "s", tags=["day-shift"])
    assert (_found(store, seed, "night-shift"), _found(store, seed, "day-shift")) == ([], ["s"])


def test_a_renamed_agent_is_found_by_its_new_name_only(store: SqlStore, seed: Seed) -> None:
    seed.session("s", start=1)
    store.append_events([event("s", "e1", payload={"prompt": "file the librarian's notes"})])
    store.upsert_agent("s", "a1", "Archivist")
    store.upsert_agent("s", "a2", "Cartographer")
    store.upsert_agent("s", "a1", "Bookbinder")  # create_agent again, with another name
    assert _found(store, seed, "archivist") == []
    assert _found(store, seed, "bookbinder cartographer") == ["s"]
    store.upsert_agent("s", "a1", None)  # a nameless repeat keeps the name
    assert _found(store, seed, "bookbinder") == ["s"]
    store.finish_traces([("s", "a2", "Navigator")], [])  # an OTLP agent span
    assert _found(store, seed, "cartographer") == []
    assert _found(store, seed, "navigator bookbinder librarian") == ["s"]
    _update(store, seed, "s", end_state="Fail", end_state_reason="lost at sea")
    assert _found(store, seed, "navigator lost") == ["s"]


def test_a_sessions_own_words_stay_one_document(
    store: SqlStore, seed: Seed, database_url: str
) -> None:
    """Each change replaces the session's own document (each one added a document before),
    and a write that changes none of its words leaves it as it is."""
    seed.session("s", start=1, name="first")
    for n in range(4):
        _update(store, seed, "s", name=f"name {n}", end_state_reason=f"reason {n}")
        store.upsert_agent("s", "a1", f"agent {n}")
    assert _found(store, seed, "name 3 reason 3 agent 3") == ["s"]
    engine = create_admin_engine(database_url)
    own = select(search_docs.c.seq).where(
        search_docs.c.session_id == "s", search_docs.c.session_fields
    )
    try:
        with engine.connect() as conn:
            [(seq,)] = conn.execute(own).all()
            if conn.dialect.name == "sqlite":  # the replaced words left the FTS5 table too
                match = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
                assert conn.exec_driver_sql(match, ("first",)).all() == []
                assert conn.exec_driver_sql(match, ("reason",)).all() == [(seq,)]
        _update(store, seed, "s", name="name 3", end_state_reason="reason 3", tags=["t"])
        store.upsert_agent("s", "a1", "agent 3")
        store.create_sessions([SessionWrite("s", seed.project_id, name="name 3")])
        with engine.connect() as conn:
            assert conn.execute(own).all() == [(seq,)]
    finally:
        engine.dispose()
