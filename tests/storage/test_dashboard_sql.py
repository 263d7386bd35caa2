"""The Store's dashboard group on both engines: accounts, sorted session lists (time, cost,
duration) with keyset pages, the overview, and windows of a session's events."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from agentops_server.storage.dashboard_records import EventMatch, SessionSort
from agentops_server.storage.records import SessionFilter, SessionWrite
from agentops_server.storage.sql_store import SqlStore
from agentops_server.storage.store import Conflict, InvalidCursor, NotFound
from agentops_server.storage.synthetic import SyntheticSpec, seed_sessions
from tests.storage.builders import T0, Seed, at, event


def test_accounts_are_unique_by_login(store: SqlStore) -> None:
    assert store.count_users() == 0
    user = store.create_user("ada@example.com", "scrypt$hash")
    assert store.find_user("ada@example.com") == user
    assert store.get_user(user.id) == user
    assert store.find_user("bob@example.com") is None
    with pytest.raises(Conflict):
        store.create_user("ada@example.com", "scrypt$other")
    store.set_user_password(user.id, "scrypt$new")
    assert store.get_user(user.id).password_hash == "scrypt$new"
    with pytest.raises(NotFound):
        store.get_user("nobody")
    assert store.count_users() == 1


def _ended(seed: Seed, session_id: str, start: float, seconds: float | None, cost: int) -> None:
    seed.session(session_id, start=start, tags=["t"])
    seed.store.append_events([event(session_id, start=start, cost_nanos=cost)])
    if seconds is not None:
        write = SessionWrite(
            id=session_id,
            project_id=seed.project_id,
            end_timestamp=at(start + seconds),
            end_state="Success",
        )
        seed.store.write_session(write, create=False)


def _walk(store: SqlStore, seed: Seed, sort: SessionSort, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        page = store.list_sessions_sorted(seed.project_id, SessionFilter(), sort, cursor, limit)
        seen += [s.id for s in page.sessions]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


def test_sorted_lists_walk_every_session_once_in_order(store: SqlStore, seed: Seed) -> None:
    # (id, start, duration or None while running, cost)
    rows = [
        ("a", 0, 5.0, 300),
        ("b", 10, 50.0, 100),
        ("c", 20, None, 900),
        ("d", 30, 0.5, 100),
        ("e", 40, 50.0, 0),
        ("f", 50, None, 20),
    ]
    for sid, start, seconds, cost in rows:
        _ended(seed, sid, start, seconds, cost)
    other = Seed.create(store, "Other")
    _ended(other, "z", 5, 500.0, 10**9)  # another project's session never shows up

    assert _walk(store, seed, SessionSort.NEWEST, 4) == ["f", "e", "d", "c", "b", "a"]
    assert _walk(store, seed, SessionSort.OLDEST, 4) == ["a", "b", "c", "d", "e", "f"]
    for limit in (1, 2, 4, 10):
        assert _walk(store, seed, SessionSort.COST, limit) == ["c", "a", "d", "b", "f", "e"]
        # longest first; ties by id descending; running sessions last
        assert _walk(store, seed, SessionSort.DURATION, limit) == ["e", "b", "a", "d", "f", "c"]
    longest = store.list_sessions_sorted(
        seed.project_id, SessionFilter(), SessionSort.DURATION, None, 1
    ).sessions[0]
    assert longest.end_timestamp is not None
    assert longest.end_timestamp - longest.init_timestamp == timedelta(seconds=50)


def test_sorted_lists_apply_filters_and_refuse_foreign_cursors(store: SqlStore, seed: Seed) -> None:
    _ended(seed, "cheap-1", 0, 1.0, 5)
    _ended(seed, "dear-1", 1, 2.0, 500)
    seed.session("untagged", start=2)
    page = store.list_sessions_sorted(
        seed.project_id, SessionFilter(tags=("t",), text="dear"), SessionSort.COST, None, 10
    )
    assert [s.id for s in page.sessions] == ["dear-1"]
    first = store.list_sessions_sorted(seed.project_id, SessionFilter(), SessionSort.COST, None, 1)
    assert first.next_cursor is not None
    with pytest.raises(InvalidCursor):
        store.list_sessions_sorted(
            seed.project_id, SessionFilter(), SessionSort.DURATION, first.next_cursor, 1
        )
    with pytest.raises(InvalidCursor):
        store.list_sessions_sorted(seed.project_id, SessionFilter(), SessionSort.OLDEST, "x!", 1)


def test_overview_totals_days_and_models(store: SqlStore, seed: Seed) -> None:
    _ended(seed, "one", 0, 1.0, 1_000)
    seed.session("two", start=86_400 + 5)  # the next UTC day
    store.append_events(
        [
            event("two", start=86_400 + 6, cost_nanos=None),
            event("two", event_type="errors", start=86_400 + 7),
        ]
    )
    store.write_session(
        SessionWrite(id="two", project_id=seed.project_id, end_state="Fail"), create=False
    )
    found = store.overview(seed.project_id, T0 - timedelta(days=1), T0 + timedelta(days=5))
    t = found.totals
    assert (t.sessions, t.success, t.fail, t.events, t.errors) == (2, 1, 1, 3, 1)
    assert (t.cost_nanos, t.unknown_cost_events) == (1_000, 1)
    assert found.bucket == "day"
    assert [(p.start, p.success, p.fail, p.with_errors) for p in found.points] == [
        (T0.replace(hour=0), 1, 0, 0),
        ((T0 + timedelta(days=1)).replace(hour=0), 0, 1, 1),
    ]
    [model] = found.models
    assert (model.model, model.calls, model.cost_nanos, model.unknown_cost_calls) == (
        "gpt-4o",
        2,
        1_000,
        1,
    )
    assert (model.failed_calls, model.unpriced_calls) == (0, 1)
    empty = store.overview(seed.project_id, T0 + timedelta(days=3), T0 + timedelta(days=4))
    assert empty.totals.sessions == 0 and empty.points == [] and empty.models == []


def test_overview_by_the_hour_with_latency_and_every_model(store: SqlStore, seed: Seed) -> None:
    """Hourly buckets; p50/p95 of LLM call durations; every model, failed calls (no tokens, no
    cost: a provider's 429) apart from unpriced ones (tokens, no price)."""
    seed.session("early", start=60)
    seed.session("late", start=3 * 3600 + 60)
    durations = [0.1 * n for n in range(1, 21)]  # 0.1 s .. 2.0 s
    store.append_events(
        [event("early", start=100 + i, duration=d) for i, d in enumerate(durations)]
        + [
            replace(event("late", start=3 * 3600 + 100, cost_nanos=None), model="my-finetune"),
            replace(
                event("late", start=3 * 3600 + 101, cost_nanos=None, prompt_tokens=None,
                      completion_tokens=None),
                model="claude-3-5-haiku",
            ),
            event("late", event_type="errors", start=3 * 3600 + 102),
        ]
    )  # fmt: skip
    found = store.overview(seed.project_id, T0, T0 + timedelta(days=1), hourly=True)
    assert found.bucket == "hour"
    assert [(p.start.hour, p.sessions, p.with_errors) for p in found.points] == [
        (12, 1, 0),
        (15, 1, 1),
    ]
    early = found.points[0].llm
    assert (early.calls, early.p50_ms, early.p95_ms) == (20, 1000.0, 1900.0)
    by_model = {m.model: m for m in found.models}
    assert set(by_model) == {"gpt-4o", "my-finetune", "claude-3-5-haiku"}
    assert by_model["gpt-4o"].calls == 20 and by_model["gpt-4o"].llm.p95_ms == 1900.0
    unpriced, failed = by_model["my-finetune"], by_model["claude-3-5-haiku"]
    assert (unpriced.unpriced_calls, unpriced.failed_calls) == (1, 0)
    assert (failed.unpriced_calls, failed.failed_calls) == (0, 1)
    assert found.llm.calls == 22


def test_event_windows_and_density(store: SqlStore, seed: Seed) -> None:
    seed.session("big", start=0)
    kinds = ["llms", "tools", "actions", "errors"]
    store.append_events(
        [event("big", f"e{i:03}", event_type=kinds[i % 4], start=i) for i in range(100)]
    )
    density = store.event_density("big", at(0), at(100), 10)
    store.density_edges_above = 0  # the other way of counting gives the same answer
    again = store.event_density("big", at(0), at(100), 10)
    key = sorted((b.index, b.event_type, b.count) for b in density.buckets)
    assert sorted((b.index, b.event_type, b.count) for b in again.buckets) == key
    assert density.total == 100
    assert sum(b.count for b in density.buckets if b.index == 0) == 10
    assert {b.event_type for b in density.buckets} == set(kinds)
    assert max(b.index for b in density.buckets) == 9

    ids: list[str] = []
    cursor = None
    for _ in range(20):
        window = store.list_event_window("big", at(10), at(50), cursor, 7)
        ids += [e.id for e in window.events]
        cursor = window.next_cursor
        if cursor is None:
            break
    assert ids == [f"e{i:03}" for i in range(10, 50)]
    # e009 runs 9 s -> 10 s: it is still running at 9.5 s, e008 has ended
    running = store.list_running_events("big", at(9.5))
    assert [e.id for e in running] == ["e009"]
    assert store.list_running_events("big", at(9.5), lookback=0) == []
    full = store.get_event("big", "e015")
    assert full.payload["note"] == "héllo" and full.event_type == "errors"
    with pytest.raises(NotFound):
        store.get_event("big", "missing")
    assert store.find_session_project("big") == seed.project_id
    assert store.find_session_project("missing") is None


@pytest.mark.parametrize("sort", list(SessionSort))
def test_filters_without_an_index_read_a_bounded_number_of_sessions_per_page(
    store: SqlStore, seed: Seed, sort: SessionSort
) -> None:
    for i in range(12):
        seconds = None if i in (4, 9) else float(i + 1)
        _ended(seed, f"s{i:02}", i, seconds, cost=(i + 1) * 10)
        if i in (1, 7, 10):
            store.write_session(
                SessionWrite(
                    id=f"s{i:02}",
                    project_id=seed.project_id,
                    metadata={"kind": "needle"},
                ),
                create=False,
            )
    store.session_scan_limit = 3
    found: list[str] = []
    cursor = None
    pages = 0
    while pages < 30:
        pages += 1
        page = store.list_sessions_sorted(
            seed.project_id, SessionFilter(metadata=(("kind", "needle"),)), sort, cursor, 2
        )
        assert len(page.sessions) <= 2
        found += [s.id for s in page.sessions]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(found) == ["s01", "s07", "s10"] and len(found) == 3
    assert pages >= 4  # 12 sessions, 3 read per page: the search went on in steps
    store.session_scan_limit = 10_000
    whole = store.list_sessions_sorted(
        seed.project_id, SessionFilter(metadata=(("kind", "needle"),)), sort, None, 5
    )
    assert [s.id for s in whole.sessions] == found  # the same sessions, in the same order


@pytest.mark.parametrize("sort", [SessionSort.COST, SessionSort.DURATION, SessionSort.OLDEST])
def test_bounded_walks_grow_in_chunks_and_keep_the_order(
    store: SqlStore, seed: Seed, sort: SessionSort
) -> None:
    spec = SyntheticSpec(count=600, start=T0, days=10, rare_tag_every=150)
    for _ in seed_sessions(store, seed.project_id, spec):
        pass
    everything = _walk(store, seed, sort, 1000)
    tagged = store.list_sessions(seed.project_id, SessionFilter(tags=("rare",)), None, 50)
    rare = {s.id for s in tagged.sessions}
    assert len(rare) == 4
    found: list[str] = []
    cursor = None
    for _ in range(10):
        page = store.list_sessions_sorted(
            seed.project_id, SessionFilter(tags=("rare",)), sort, cursor, 3
        )
        found += [s.id for s in page.sessions]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert found == [sid for sid in everything if sid in rare]


def test_event_windows_filter_by_type_name_model_and_agent(store: SqlStore, seed: Seed) -> None:
    seed.session("mixed", start=0)
    made = [
        event("mixed", "a", event_type="llms", start=1, agent_id="ag-1"),
        event("mixed", "b", event_type="tools", start=2, agent_id="ag-1"),
        event("mixed", "c", event_type="tools", start=3, agent_id="ag-2"),
        event("mixed", "d", event_type="errors", start=4),
    ]
    made[2] = replace(made[2], name="Fetch_100%")
    store.append_events(made)

    def ids(**fields: str) -> list[str]:
        window = store.list_event_window("mixed", at(0), at(10), None, 50, EventMatch(**fields))
        return [e.id for e in window.events]

    assert ids() == ["a", "b", "c", "d"]
    assert ids(event_type="tools") == ["b", "c"]
    assert ids(name="TOOLS-") == ["b"]  # a part of the name, in any case
    assert ids(name="100%") == ["c"] and ids(name="h_1") == ["c"]  # % and _ are characters
    assert ids(name="1%0") == []
    assert ids(model="GPT") == ["a"]
    assert ids(agent_id="ag-1") == ["a", "b"]
    assert ids(agent_id="ag-1", event_type="tools") == ["b"]
    page = store.list_event_window("mixed", at(0), at(10), None, 1, EventMatch(event_type="tools"))
    assert [e.id for e in page.events] == ["b"] and page.next_cursor is not None
    rest = store.list_event_window(
        "mixed", at(0), at(10), page.next_cursor, 5, EventMatch(event_type="tools")
    )
    assert [e.id for e in rest.events] == ["c"] and rest.next_cursor is None


def test_the_model_filter_suggests_the_models_of_the_projects_newest_sessions(
    store: SqlStore, seed: Seed
) -> None:
    """What the sessions list offers under its model filter: exact names, each once, of this
    project only, calls without a model left out, from a bounded number of newest sessions."""
    other = Seed.create(store, "Other")

    def with_calls(owner: Seed, session_id: str, start: float, *models: str | None) -> None:
        owner.session(session_id, start=start)
        calls = [replace(event(session_id, start=start), model=m) for m in models]
        store.append_events(calls)

    with_calls(seed, "old", 0, "gpt-4-0613")
    with_calls(seed, "mid", 10, "gpt-4o-2024-08-06", None, "claude-3-5-sonnet-20241022")
    with_calls(seed, "new", 20, "gpt-4o-2024-08-06", "gpt-4o-mini")
    with_calls(other, "elsewhere", 30, "mistral-large-2407")
    assert store.recent_models(seed.project_id) == [
        "claude-3-5-sonnet-20241022",
        "gpt-4-0613",
        "gpt-4o-2024-08-06",
        "gpt-4o-mini",
    ]
    assert store.recent_models(other.project_id) == ["mistral-large-2407"]
    store.recent_models_sessions = 2  # the oldest session is no longer read
    assert "gpt-4-0613" not in store.recent_models(seed.project_id)
    assert store.recent_models(Seed.create(store, "Empty").project_id) == []


def test_hand_made_cursors_the_database_cannot_compare_with_are_refused(
    store: SqlStore, seed: Seed
) -> None:
    """A cursor comes back from the client: one that names a time beyond year 9999 in UTC,
    an integer beyond 64 bits, a lone surrogate or a NUL is refused like any forged cursor
    (a 400), not sent to the database (where it was a 500)."""
    seed.session("s1")
    store.append_events([event("s1")])

    def cursor(*parts: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")

    late, early = "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+05:00"
    nested = base64.urlsafe_b64encode(b"[" * 1200).decode()  # deeper than json can read
    bad_lists = [cursor(early, "s1"), cursor(late, "s1"), cursor(T0.isoformat(), "\ud800")]
    bad_lists += [nested, cursor(T0.isoformat(), "s" * 3000)]
    bad_lists += [cursor(T0.isoformat(), "s\x001"), cursor(T0.isoformat(), "s1", "extra")]
    for bad in bad_lists:
        with pytest.raises(InvalidCursor):
            store.list_sessions(seed.project_id, SessionFilter(), bad, 5)
    sorted_bad = [
        (SessionSort.COST, cursor("cost", 2**63, "s1")),
        (SessionSort.DURATION, cursor("duration", -(2**63) - 1, "s1")),
        (SessionSort.OLDEST, cursor("oldest", early, "s1")),
        (SessionSort.NEWEST, cursor("newest", late, "s1")),
        (SessionSort.NEWEST, cursor("newest", T0.isoformat(), "\ud800")),
    ]
    for sort, bad in sorted_bad:
        with pytest.raises(InvalidCursor):
            store.list_sessions_sorted(seed.project_id, SessionFilter(), sort, bad, 5)
    for bad in (cursor("e", late, 1), cursor("e", T0.isoformat(), 2**63)):
        with pytest.raises(InvalidCursor):
            store.list_event_window("s1", at(0), at(10), bad, 5)
    for bad in (cursor("t", early, 1), cursor("t", T0.isoformat(), 2**64)):
        with pytest.raises(InvalidCursor):
            store.list_tree_level("s1", None, bad, 5)
    # the cursors the store issues still work
    page = store.list_sessions_sorted(seed.project_id, SessionFilter(), SessionSort.COST, None, 1)
    assert [s.id for s in page.sessions] == ["s1"]
