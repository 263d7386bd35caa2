"""Listing sessions: newest first, keyset pages, and every filter."""

from __future__ import annotations

import pytest

from agentops_server.storage.records import SessionFilter, SessionWrite
from agentops_server.storage.sql_store import SqlStore
from agentops_server.storage.store import InvalidCursor
from tests.storage.builders import Seed, at


def all_pages(store: SqlStore, project_id: str, filters: SessionFilter, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        page = store.list_sessions(project_id, filters, cursor, limit)
        ids += [s.id for s in page.sessions]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


def test_newest_first_with_stable_pages_across_equal_start_times(seed: Seed) -> None:
    starts = {"a": 1, "b": 2, "c": 2, "d": 2, "e": 3, "f": 0}
    for sid, start in starts.items():
        seed.session(sid, start=start)
    expected = ["e", "d", "c", "b", "a", "f"]  # start desc, then id desc
    for limit in (1, 2, 4, 6, 50):
        assert all_pages(seed.store, seed.project_id, SessionFilter(), limit) == expected
    first = seed.store.list_sessions(seed.project_id, SessionFilter(), None, 6)
    assert first.next_cursor is None and first.sessions[0].stats.events == 0


def test_other_projects_sessions_are_not_listed(store: SqlStore) -> None:
    mine, theirs = Seed.create(store, "mine"), Seed.create(store, "theirs")
    mine.session("m1", tags=["t"])
    theirs.session("t1", tags=["t"])
    assert all_pages(store, mine.project_id, SessionFilter(), 10) == ["m1"]
    assert all_pages(store, mine.project_id, SessionFilter(tags=("t",)), 10) == ["m1"]


def test_filters(seed: Seed) -> None:
    store = seed.store
    seed.session("run-1", start=1, tags=["prod", "v1"])
    seed.session("run-2", start=2, tags=["dev"])
    seed.session("run-3", start=3, tags=["prod"])
    seed.session("other", start=4, tags=["prod_x"])
    store.write_session(
        SessionWrite(
            id="run-3",
            project_id=seed.project_id,
            end_state="Fail",
            end_state_reason="Rate limit 100% hit",
            end_timestamp=at(9),
        ),
        create=False,
    )

    def ids(limit: int = 2, **kw: object) -> list[str]:
        return all_pages(store, seed.project_id, SessionFilter(**kw), limit)  # type: ignore[arg-type]

    assert ids(tags=("prod",)) == ["run-3", "run-1"]
    assert ids(tags=("prod",), limit=1) == ["run-3", "run-1"]
    assert ids(tags=("nope",)) == []
    assert ids(end_state="Fail") == ["run-3"]
    assert ids(end_state="Indeterminate") == ["other", "run-2", "run-1"]
    assert ids(started_after=at(2), started_before=at(4)) == ["run-3", "run-2"]
    assert ids(tags=("prod",), started_after=at(2)) == ["run-3"]
    assert ids(text="run-") == ["run-3", "run-2", "run-1"]  # the start of an id
    assert ids(text="RUN-2") == ["run-2"]
    assert ids(text="un-2") == []  # ids match from their start
    assert ids(text="dev") == ["run-2"]  # a tag
    assert ids(text="100%") == ["run-3"]  # a word of the end reason, with a LIKE wildcard
    assert ids(text="rate HIT") == ["run-3"]  # every word, in any order and case
    assert ids(text="rate miss") == []
    assert ids(text="_") == []  # the wildcard is literal
    assert ids(text="prod", end_state="Indeterminate") == ["run-1"]


def test_tag_filter_follows_tag_changes(seed: Seed) -> None:
    store = seed.store
    seed.session("s1", start=1, tags=["old"])
    store.write_session(
        SessionWrite(id="s1", project_id=seed.project_id, tags=["new"]), create=False
    )
    assert all_pages(store, seed.project_id, SessionFilter(tags=("old",)), 5) == []
    assert all_pages(store, seed.project_id, SessionFilter(tags=("new",)), 5) == ["s1"]


def test_bad_cursor_is_an_error_not_a_crash(seed: Seed) -> None:
    seed.session("s1")
    for bad in ("garbage", "bm90IGpzb24", "WzEsMl0"):
        with pytest.raises(InvalidCursor):
            seed.store.list_sessions(seed.project_id, SessionFilter(), bad, 5)


def test_filters_without_an_index_scan_a_bounded_window_per_call(seed: Seed) -> None:
    """A rare match of a filter no index answers (here a second tag) must not scan every
    session at once: each call looks at a bounded window and hands back a cursor to go on
    from, even when its page is short or empty."""
    store = seed.store
    for n in range(9):
        seed.session(f"s-{n}", start=n, tags=["all", "hit"] if n in (1, 7) else ["all"])
    store.text_scan_limit = 3
    both = SessionFilter(tags=("all", "hit"))
    pages, cursor = [], None
    for _ in range(10):
        page = store.list_sessions(seed.project_id, both, cursor, 10)
        pages.append([s.id for s in page.sessions])
        cursor = page.next_cursor
        if cursor is None:
            break
    # windows of 3, newest first: (8 7 6) (5 4 3) (2 1 0) and then nothing left
    assert pages == [["s-7"], [], ["s-1"], []]
    assert all_pages(store, seed.project_id, both, 10) == ["s-7", "s-1"]
    assert all_pages(store, seed.project_id, both, 1) == ["s-7", "s-1"]
    assert all_pages(store, seed.project_id, SessionFilter(tags=("all", "no")), 10) == []
