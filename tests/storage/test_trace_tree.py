"""The event tree and OTLP's held data, on both engines: parent ids round-trip, agents reach
their whole subtree, a root's children move under the session, held spans are claimed once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy.exc import DBAPIError

from agentops_server.storage.records import PendingOtlp, TakenContent, UsageFill, pending_size
from agentops_server.storage.sql_store import SqlStore, open_store
from agentops_server.storage.store import NotFound
from tests.storage.builders import Seed, at, event


def test_parent_ids_round_trip_through_appends_and_reads(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    store.append_events(
        [
            event("s1", "root-child", event_type="actions", start=1),
            event("s1", "llm", start=2, parent_id="root-child"),
        ]
    )
    by_id = {e.id: e for e in store.iter_events("s1")}
    assert by_id["root-child"].parent_id is None
    assert by_id["llm"].parent_id == "root-child"
    assert [e.id for e in store.child_events("s1", ["root-child"])] == ["llm"]
    assert {e.id for e in store.get_events("s1", ["llm", "absent", "root-child"])} == {
        "llm",
        "root-child",
    }


def test_events_and_children_of_several_sessions_in_one_call(seed: Seed) -> None:
    """What a request's traces look up: keys of any sessions at once, an event or a child of
    another session than its key's never among them."""
    store = seed.store
    seed.session("s1")
    seed.session("s2")
    store.append_events(
        [
            event("s1", "p", event_type="actions", start=1),
            event("s1", "late", start=3, parent_id="p"),
            event("s1", "early", start=2, parent_id="p"),
            event("s2", "p", event_type="actions", start=1),
            event("s2", "other", start=2, parent_id="p"),
        ]
    )
    found = store.events_in([("s1", "p"), ("s2", "other"), ("s2", "missing"), ("s1", "other")])
    assert sorted((e.session_id, e.id) for e in found) == [("s1", "p"), ("s2", "other")]
    children = store.children_of([("s1", "p"), ("s1", "p"), ("s2", "nobody")])
    assert [(e.session_id, e.id) for e in children] == [("s1", "early"), ("s1", "late")]
    assert [e.id for e in store.children_of([("s2", "p")])] == ["other"]
    assert store.events_in([]) == [] and store.children_of([]) == []


def test_retried_batch_with_parents_is_counted_once(seed: Seed) -> None:
    """PostgreSQL's COPY falls back to INSERT ... ON CONFLICT: parent ids survive both."""
    store = seed.store
    seed.session("s1")
    batch = [event("s1", "a", event_type="actions"), event("s1", "b", parent_id="a")]
    store.append_events(batch[:1])
    result = store.append_events(batch)
    assert (result.inserted, result.duplicates) == (1, 1)
    assert {e.id: e.parent_id for e in store.iter_events("s1")} == {"a": None, "b": "a"}
    assert store.get_stats(seed.project_id, "s1").events == 2


def test_an_agent_reaches_its_subtree_but_not_an_inner_agents(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    store.append_events(
        [
            event("s1", "outer", event_type="actions", agent_id="outer"),
            event("s1", "task", event_type="actions", parent_id="outer"),
            event("s1", "llm", parent_id="task"),
            event("s1", "inner", event_type="actions", parent_id="task", agent_id="inner"),
            event("s1", "tool", event_type="tools", parent_id="inner", agent_id="inner"),
            event("s1", "sibling", event_type="actions"),
        ]
    )
    assert store.assign_agent("s1", "outer") == 2
    agents = {e.id: e.agent_id for e in store.iter_events("s1")}
    assert agents == {
        "outer": "outer",
        "task": "outer",
        "llm": "outer",
        "inner": "inner",
        "tool": "inner",
        "sibling": None,
    }


def test_children_of_a_root_move_under_the_session(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    store.append_events([event("s1", "a", parent_id="root-span"), event("s1", "b", parent_id="a")])
    assert store.reparent_children("s1", "root-span") == 1
    assert {e.id: e.parent_id for e in store.iter_events("s1")} == {"a": None, "b": "a"}


def test_a_requests_agents_and_roots_are_finished_together(seed: Seed) -> None:
    """finish_traces: each agent named and given its subtree, each root's children moved
    under their session, for several sessions at once."""
    store = seed.store
    seed.session("s1")
    seed.session("s2")
    store.append_events(
        [
            event("s1", "agent", event_type="actions", parent_id="root-1", agent_id="agent"),
            event("s1", "llm", parent_id="agent"),
            event("s2", "tool", event_type="tools", parent_id="root-2"),
        ]
    )
    store.finish_traces([("s1", "agent", "Planner")], [("s1", "root-1"), ("s2", "root-2")])
    one = {e.id: (e.parent_id, e.agent_id) for e in store.iter_events("s1")}
    assert one == {"agent": (None, "agent"), "llm": ("agent", "agent")}
    assert [(e.id, e.parent_id) for e in store.iter_events("s2")] == [("tool", None)]
    assert [(a.id, a.name) for a in store.list_agents("s1")] == [("agent", "Planner")]
    store.finish_traces([], [])  # nothing to do: no transaction


def test_merging_into_a_payload_keeps_what_is_there(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    store.append_events([event("s1", "e", payload={"prompt": "kept"})])
    first = {"r1": {"prompt": "other", "completion": ["added"]}}
    assert store.merge_event_payload("s1", "e", first)
    # a later log request adds to what log records gave, never to what the span carried;
    # a record merged before (a request sent again) adds nothing, nor one that took nothing
    later = {"r1": {"completion": ["again"]}, "r2": {"prompt": ["x"], "completion": ["more"]}}
    assert store.merge_event_payload("s1", "e", later)
    assert store.merge_event_payload("s1", "e", {"r3": {"prompt": ["x"]}})
    assert next(iter(store.iter_events("s1"))).payload == {
        "prompt": "kept",
        "completion": ["added", "more"],
        "content_from_logs": ["completion"],
        "content_log_records": ["r1", "r2"],
    }
    assert not store.merge_event_payload("s1", "missing", {"r1": {"x": 1}})


def test_held_otlp_data_is_claimed_once_and_only_by_its_project(
    store: SqlStore, seed: Seed
) -> None:
    other = store.create_project("Other").id
    held = [
        PendingOtlp("t1", None, "spans", '{"n": 1}', at(0)),
        PendingOtlp("t1", other, "logs", '{"n": 2}', at(1)),
        PendingOtlp("t2", None, "spans", '{"n": 3}', at(2)),
    ]
    store.hold_pending(held)
    assert store.pending_traces(["t1", "t9"]) == {"t1"}
    row = pending_size('{"n": 1}')  # a row counts beyond its body
    assert (store.pending_bytes(), store.pending_bytes(other)) == (2 * row, row)  # per owner
    assert store.pending_bytes(seed.project_id) == 0
    assert pending_size("") > 0
    claimed = store.claim_pending(["t1"], seed.project_id)
    assert [(c.trace_id, c.project_id, c.body) for c in claimed] == [("t1", None, '{"n": 1}')]
    assert store.claim_pending(["t1"], seed.project_id) == []
    assert [c.body for c in store.claim_pending(["t1"], other)] == ['{"n": 2}']
    assert store.expire_pending(at(2) + timedelta(microseconds=1)) == 1
    assert store.pending_traces(["t2"]) == set()


def test_log_content_held_for_a_span_is_claimed_only_with_that_span(
    store: SqlStore, seed: Seed
) -> None:
    """A request of the trace takes held spans, uploads and content held for the whole trace
    (an earlier version's), and of the content held per span only that of its spans: the
    rest waits on as it was, counted and expired from when it came."""
    mine = seed.project_id
    held = [
        PendingOtlp("t1", mine, "logs", '{"a": 1}', at(0), "span-a"),
        PendingOtlp("t1", None, "spans", '{"n": 1}', at(1)),
        PendingOtlp("t1", mine, "logs", '{"b": 1}', at(2), "span-b"),
        PendingOtlp("t1", mine, "logs", '{"whole": 1}', at(3)),
        PendingOtlp("t1", mine, "logs", '{"a": 2}', at(4), "span-a"),
    ]
    store.hold_pending(held)
    claimed = store.claim_pending(["t1"], mine, ["span-a", "span-c"])
    assert claimed == [held[0], held[1], held[3], held[4]]  # oldest first, span ids kept
    assert store.pending_bytes(mine) == pending_size('{"b": 1}')
    assert store.claim_pending(["t1"], mine, ["span-a"]) == []
    assert store.expire_pending(at(2)) == 0 and store.expire_pending(at(3)) == 1
    assert store.pending_traces(["t1"]) == set()
    store.hold_pending([held[2]])
    assert store.claim_pending(["t1"], mine) == [held[2]]  # no span ids: all of it


def test_held_log_content_is_found_and_taken_for_stored_spans_only(
    store: SqlStore, seed: Seed
) -> None:
    """What a request looks for after its spans are stored: per trace, the spans whose log
    content this project holds (None: held for the whole trace by an earlier version), and
    taking it leaves token-less spans, uploads, other spans and other projects alone."""
    mine, other = seed.project_id, store.create_project("Other").id
    held = [
        PendingOtlp("t1", mine, "logs", '{"a": 1}', at(0), "span-a"),
        PendingOtlp("t1", None, "spans", '{"n": 1}', at(1)),
        PendingOtlp("t1", mine, "logs", '{"b": 1}', at(2), "span-b"),
        PendingOtlp("t1", mine, "logs", '{"whole": 1}', at(3)),
        PendingOtlp("t1", other, "logs", '{"a": 9}', at(4), "span-a"),
        PendingOtlp("t2", mine, "logs", '{"c": 1}', at(5), "span-c"),
        PendingOtlp("t3", None, "upload", "log text", at(6)),
    ]
    store.hold_pending(held)
    found = store.held_content(mine, ["t1", "t2", "t3", "t9"])
    assert found == {"t1": {"span-a", "span-b", None}, "t2": {"span-c"}}
    assert store.held_content(other, ["t1"]) == {"t1": {"span-a"}}
    taken: list[list[PendingOtlp]] = []
    assert store.join_content("t1", mine, ["span-a", "span-x"], "s1", _seen(taken)) == []
    assert store.join_content("t1", mine, ["span-a"], "s1", _seen(taken)) == []
    assert taken == [[held[0], held[3]]]  # oldest first; split not called for nothing
    assert store.held_content(mine, ["t1"]) == {"t1": {"span-b"}}
    assert store.claim_pending(["t1"], other) == [held[1], held[4]]  # still there


def _seen(into: list[list[PendingOtlp]]) -> Callable[[list[PendingOtlp]], TakenContent]:
    """A split that keeps what it was given and merges nothing."""

    def split(rows: list[PendingOtlp]) -> TakenContent:
        into.append(rows)
        return TakenContent({}, [], [])

    return split


def _joined(records: dict[str, Any], again: list[PendingOtlp]) -> TakenContent:
    """What HeldContent makes of the rows of test_log_content_is_joined_...: span-a's
    records to merge, those of a span whose event is gone, and a part for span-b."""
    mine = [
        PendingOtlp("t1", again[0].project_id, "logs", '{"a": 1}', at(0), "span-a"),
        PendingOtlp("t1", again[0].project_id, "logs", '{"gone": 1}', at(1), "span-gone"),
    ]
    return TakenContent({"span-a": records, "span-gone": records}, mine, again)


def test_log_content_is_joined_in_one_transaction(store: SqlStore, seed: Seed) -> None:
    """Taking held content for stored spans, merging it into their events and holding again
    what is for other spans or has no event: done together, or, when any statement fails
    (here the hold again: a row the table refuses), not at all, the content held as it was
    and the event as it was (the old code had committed the take and the merges, and the
    content not held again was lost)."""
    mine = seed.project_id
    seed.session("s1")
    store.append_events([event("s1", "span-a", payload={"prompt": "kept"})])
    held = [
        PendingOtlp("t1", mine, "logs", '{"a": 1}', at(0), "span-a"),
        PendingOtlp("t1", mine, "logs", '{"whole": 1}', at(1)),
        PendingOtlp("t1", mine, "logs", '{"b": 1}', at(2), "span-b"),
    ]
    store.hold_pending(held)
    records = {"r1": {"completion": ["added"]}}
    refused = PendingOtlp("t1", mine, cast(str, None), '{"b": 2}', at(1), "span-b")
    with pytest.raises(DBAPIError):
        store.join_content("t1", mine, ["span-a"], "s1", lambda _: _joined(records, [refused]))
    (stored,) = store.get_events("s1", ["span-a"])
    assert stored.payload == {"prompt": "kept"}
    assert store.held_content(mine, ["t1"]) == {"t1": {"span-a", "span-b", None}}
    assert store.pending_bytes(mine) == sum(pending_size(row.body) for row in held)

    rest = PendingOtlp("t1", mine, "logs", '{"b": 2}', at(1), "span-b")
    again = store.join_content("t1", mine, ["span-a"], "s1", lambda _: _joined(records, [rest]))
    assert [(row.span_id, row.body) for row in again] == [
        ("span-gone", '{"gone": 1}'),
        ("span-b", '{"b": 2}'),
    ]
    (stored,) = store.get_events("s1", ["span-a"])
    assert stored.payload["completion"] == ["added"]
    assert store.claim_pending(["t1"], mine, ["span-b", "span-gone"]) == [held[2], *again]


def test_two_workers_claiming_at_once_each_take_a_held_row_at_most_once(
    database_url: str, store: SqlStore, seed: Seed
) -> None:
    """Two authenticated requests of one trace at once (a client's retry, --workers 2): every
    held row goes to one of them, never to both (a log upload would be kept twice)."""
    second = open_store(database_url)
    try:
        for trial in range(30):
            trace_id = f"{trial + 1:032x}"
            store.hold_pending([PendingOtlp(trace_id, None, "upload", "log text", at(trial))])
            barrier = threading.Barrier(2)
            claimed: list[list[PendingOtlp]] = []
            threads = [
                threading.Thread(
                    target=_claim, args=(w, trace_id, seed.project_id, barrier, claimed)
                )
                for w in (store, second)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(len(rows) for rows in claimed) == [0, 1], trial
    finally:
        second.close()


def _claim(
    worker: SqlStore,
    trace_id: str,
    project_id: str,
    barrier: threading.Barrier,
    into: list[list[PendingOtlp]],
) -> None:
    barrier.wait()
    into.append(worker.claim_pending([trace_id], project_id))


def test_two_workers_merging_log_content_at_once_lose_none_and_add_none_twice(
    database_url: str, store: SqlStore, seed: Seed
) -> None:
    """A /v1/logs request and its retry merged at once by two workers (the exporter gave up
    waiting while the first was still stored) add its record once; two distinct records
    merged at once are both kept (neither write overwrites the other)."""
    second = open_store(database_url)
    try:
        seed.session("s1")
        for trial in range(20):
            event_id = f"call-{trial}"
            store.append_events([event("s1", event_id)])
            retry = trial % 2 == 0
            first = {"r1": {"prompt": ["hello"]}}
            records = [first, first if retry else {"r2": {"prompt": ["hi"]}}]
            barrier = threading.Barrier(2)
            merged: list[bool] = []
            threads = [
                threading.Thread(target=_merge, args=(w, event_id, one, barrier, merged))
                for w, one in zip((store, second), records, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert merged == [True, True], trial
            (stored,) = store.get_events("s1", [event_id])
            expected = ["hello"] if retry else ["hello", "hi"]
            assert sorted(stored.payload["prompt"]) == expected, trial
    finally:
        second.close()


def _merge(
    worker: SqlStore,
    event_id: str,
    records: dict[str, Any],
    barrier: threading.Barrier,
    into: list[bool],
) -> None:
    barrier.wait()
    into.append(worker.merge_event_payload("s1", event_id, records))


def test_logs_and_objects_belong_to_their_session_and_project(store: SqlStore, seed: Seed) -> None:
    seed.session("s1")
    store.add_session_log("s1", "line one\nline two")
    assert [log.body for log in store.list_session_logs("s1")] == ["line one\nline two"]
    stored = store.put_object(seed.project_id, "héllo")
    assert stored.size == len("héllo".encode())
    assert store.get_object(seed.project_id, stored.id).body == "héllo"
    other = store.create_project("Other").id
    with pytest.raises(NotFound):
        store.get_object(other, stored.id)


def test_session_name_and_metadata_merge_on_reattach(seed: Seed) -> None:
    from agentops_server.storage.records import SessionWrite

    store = seed.store
    write = SessionWrite(id="s1", project_id=seed.project_id, init_timestamp=at(5))
    store.write_session(write, create=True)
    store.write_session(
        SessionWrite(
            id="s1", project_id=seed.project_id, init_timestamp=at(1), name="run",
            metadata={"a": 1},
        ),
        create=True,
    )  # fmt: skip
    store.write_session(
        SessionWrite(id="s1", project_id=seed.project_id, metadata={"b": 2}), create=True
    )
    session = store.get_session(seed.project_id, "s1")
    assert (session.name, session.metadata, session.init_timestamp) == (
        "run",
        {"a": 1, "b": 2},
        at(1),
    )


def _fill(
    event_id: str, before: tuple[int | None, ...], after: tuple[int | None, ...]
) -> UsageFill:
    """(prompt, completion, cache read, cache write, reasoning, cost) as read, as filled."""
    return UsageFill("s1", event_id, "gpt-4o", before, after, "computed")


def test_a_usage_fill_applies_once_to_the_call_as_it_was_read(seed: Seed) -> None:
    """A late span's figures fill in a stored LLM call and move the session's statistics and
    its model's counts by the difference; a fill made from an older read of the call (a
    second request that saw the same span) changes nothing, so nothing is counted twice."""
    store = seed.store
    seed.session("s1")
    store.append_events([event("s1", "call", cost_nanos=1_000), event("s1", "other")])
    cached = _fill("call", (10, 5, None, None, None, 1_000), (10, 5, 8, None, 2, 700))
    store.finish_traces([], [], fills=[cached])
    store.finish_traces([], [], fills=[cached])
    call = {e.id: e for e in store.iter_events("s1")}["call"]
    assert (call.cache_read_tokens, call.reasoning_tokens, call.cost_nanos) == (8, 2, 700)
    stats = store.get_stats(seed.project_id, "s1")
    assert (stats.cache_read_tokens, stats.reasoning_tokens, stats.cost_nanos) == (8, 2, 1_700)
    (model,) = store.overview(seed.project_id, None, None).models
    assert (model.calls, model.cost_nanos, model.unknown_cost_calls) == (2, 1_700, 0)
    # a call stored without tokens or cost (counted as failed) gets both from a later span
    store.append_events([event("s1", "bare", prompt_tokens=None, completion_tokens=None,
                               cost_nanos=None)])  # fmt: skip
    (model,) = store.overview(seed.project_id, None, None).models
    assert (model.failed_calls, model.unpriced_calls) == (1, 0)
    bare = (None, None, None, None, None, None)
    store.finish_traces([], [], fills=[_fill("bare", bare, (21, 7, None, None, None, 500))])
    stats = store.get_stats(seed.project_id, "s1")
    assert (stats.prompt_tokens, stats.completion_tokens) == (41, 17)
    assert (stats.cost_nanos, stats.unknown_cost_events) == (2_200, 0)
    (model,) = store.overview(seed.project_id, None, None).models
    assert (model.calls, model.prompt_tokens, model.completion_tokens) == (3, 41, 17)
    assert (model.cost_nanos, model.failed_calls, model.unpriced_calls) == (2_200, 0, 0)
