"""Appending events: duplicates count once, stats are exact, reads come back in time order."""

from __future__ import annotations

import pytest

from agentops_server.storage.sql_store import SqlStore
from agentops_server.storage.store import NotFound
from tests.storage.builders import Seed, at, event


def test_stats_add_exactly_the_inserted_events(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    result = store.append_events(
        [
            event(
                "s1",
                "l1",
                start=1,
                prompt_tokens=100,
                completion_tokens=20,
                cost_nanos=700,
                cache_read_tokens=30,
                reasoning_tokens=4,
            ),
            event("s1", "l2", start=2, prompt_tokens=50, completion_tokens=None, cost_nanos=None),
            event("s1", "t1", event_type="tools", start=0.5),
            event("s1", "a1", event_type="actions", start=3, duration=10),
            event("s1", "x1", event_type="errors", start=4),
        ]
    )
    assert (result.inserted, result.duplicates, result.session_ids) == (5, 0, ["s1"])
    stats = store.get_stats(seed.project_id, "s1")
    assert (stats.events, stats.llms, stats.tools, stats.actions, stats.errors) == (5, 2, 1, 1, 1)
    assert (stats.prompt_tokens, stats.completion_tokens) == (150, 20)
    assert (stats.cache_read_tokens, stats.reasoning_tokens) == (30, 4)
    assert stats.cost_nanos == 700 and stats.unknown_cost_events == 1
    assert stats.first_event_at == at(0.5) and stats.last_event_at == at(13)


def test_duplicates_within_and_across_calls_count_once(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    first = store.append_events([event("s1", "e1"), event("s1", "e1"), event("s1", "e2")])
    assert (first.inserted, first.duplicates) == (2, 1)
    again = store.append_events([event("s1", "e2"), event("s1", "e3")])
    assert (again.inserted, again.duplicates) == (1, 1)
    stats = store.get_stats(seed.project_id, "s1")
    assert stats.events == 3 and stats.cost_nanos == 3_000 and stats.prompt_tokens == 30
    assert [e.id for e in store.iter_events("s1")] == ["e1", "e2", "e3"]


def test_a_resent_mix_of_stored_and_new_ids_counts_only_the_new(seed: Seed) -> None:
    """Several submissions in one transaction, some ids stored already: each new event is
    stored and counted once, credited to the first submission that brought it."""
    store = seed.store
    seed.session("s1")
    seed.session("s2")
    store.append_events([event("s1", "e1"), event("s2", "e1")])
    first, second = store.append_event_batches(
        [
            [event("s2", "e1"), event("s1", "e2")],
            [event("s1", "e2"), event("s1", "e1"), event("s2", "e3"), event("s2", "e3")],
        ]
    )
    assert (first.inserted, first.duplicates) == (1, 1)
    assert (second.inserted, second.duplicates) == (1, 3)
    assert store.get_stats(seed.project_id, "s1").events == 2
    assert store.get_stats(seed.project_id, "s2").events == 2
    assert [e.id for e in store.iter_events("s2")] == ["e1", "e3"]


def test_same_event_id_in_two_sessions_is_two_events(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    seed.session("s2")
    result = store.append_events([event("s1", "e1"), event("s2", "e1")])
    assert result.inserted == 2 and sorted(result.session_ids) == ["s1", "s2"]
    assert store.get_stats(seed.project_id, "s2").events == 1


def test_events_of_a_missing_session_are_rejected_whole(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    with pytest.raises(NotFound):
        store.append_events([event("s1", "e1"), event("ghost", "e2")])
    assert store.get_stats(seed.project_id, "s1").events == 0
    assert list(store.iter_events("s1")) == []


def test_event_fields_round_trip(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    payload = {"prompt": [{"role": "user", "content": "hi ✓"}], "n": 1.5, "nested": {"a": [1]}}
    sent = event("s1", "e1", start=1.25, payload=payload)
    store.append_events([sent])
    (got,) = store.iter_events("s1")
    assert got.payload == payload
    assert (got.init_timestamp, got.end_timestamp) == (at(1.25), at(2.25))
    assert got.init_timestamp.tzinfo is not None
    assert (got.model, got.provider, got.name) == ("gpt-4o", "openai", "gpt-4o")
    assert got.cost_nanos == 1_000 and got.cost_source == "computed"


def test_non_finite_numbers_in_payloads_are_stored_as_null(seed: Seed) -> None:
    seed.session("s1")
    seed.store.append_events([event("s1", "e1", payload={"x": float("nan"), "ok": 1})])
    (got,) = seed.store.iter_events("s1")
    assert got.payload == {"x": None, "ok": 1}


def test_nul_characters_in_payloads_do_not_break_storage(seed: Seed) -> None:
    seed.session("s1")
    seed.store.append_events([event("s1", "e1", payload={"text": "a\x00b"})])
    (got,) = seed.store.iter_events("s1")
    assert got.payload == {"text": "a\ufffdb"}  # PostgreSQL JSONB cannot hold NUL


def test_iter_events_in_time_order_across_chunks_and_by_type(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    # sent out of order, several at the same instant (then insertion order breaks the tie)
    starts = [5, 1, 3, 3, 3, 0, 4, 2, 3, 1]
    types = ["llms", "tools", "llms", "actions", "llms", "errors", "tools", "llms", "llms", "llms"]
    batch = [
        event("s1", f"e{i}", start=s, event_type=t)
        for i, (s, t) in enumerate(zip(starts, types, strict=True))
    ]
    store.append_events(batch[:5])
    store.append_events(batch[5:])
    expected = sorted(range(10), key=lambda i: (starts[i], i))
    for chunk_size in (1, 3, 10, 1000):
        got = [e.id for e in store.iter_events("s1", chunk_size=chunk_size)]
        assert got == [f"e{i}" for i in expected]
    llms = [e.id for e in store.iter_events("s1", event_type="llms", chunk_size=2)]
    assert llms == [f"e{i}" for i in expected if types[i] == "llms"]
    assert list(store.iter_events("s1", event_type="apis")) == []


def test_large_session_reads_back_completely(store: SqlStore) -> None:
    seed = Seed.create(store)
    seed.session("big")
    for start in range(0, 3000, 500):
        store.append_events([event("big", f"e{i:05}", start=i) for i in range(start, start + 500)])
    ids = [e.id for e in store.iter_events("big", chunk_size=700)]
    assert ids == [f"e{i:05}" for i in range(3000)]
    assert store.get_stats(seed.project_id, "big").events == 3000


def test_one_append_may_span_thousands_of_sessions(seed: Seed) -> None:
    ids = [f"s{n:05}" for n in range(1200)]  # more than one IN list (IDS_PER_STATEMENT)
    for sid in ids:
        seed.session(sid)
    result = seed.store.append_events([event(sid, "e1") for sid in ids])
    assert result.inserted == 1200 and len(result.session_ids) == 1200
    assert seed.store.get_stats(seed.project_id, ids[-1]).events == 1


def test_events_of_one_instant_read_back_in_the_order_they_were_sent(seed: Seed) -> None:
    """Events made in the same microsecond tie on init_timestamp (the SDK makes one in under
    a microsecond): they keep the order of the batch, whatever their ids, across sessions and
    submissions of one transaction."""
    store = seed.store
    seed.session("s1")
    seed.session("s2")
    sent = ["z", "m", "a", "y", "b"]
    store.append_event_batches(
        [
            [event("s2", "k", start=1), *[event("s1", i, start=1) for i in sent[:3]]],
            [event("s1", i, start=1) for i in sent[3:]],
        ]
    )
    assert [e.id for e in store.iter_events("s1")] == sent
    assert [e.id for e in store.iter_events("s2")] == ["k"]
