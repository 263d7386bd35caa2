"""The waterfall's event tree on both engines: one level at a time in time order, with child
counts; orphans (whose parent never arrived) at the top; keyset pages that walk a level once;
a level that starts mid-session with what is still running then."""

from __future__ import annotations

import pytest

from agentops_server.storage.dashboard_records import TreeLevel
from agentops_server.storage.sql_store import SqlStore
from agentops_server.storage.store import InvalidCursor
from tests.storage.builders import Seed, at, event


def _ids(level: TreeLevel) -> list[str]:
    return [node.event.id for node in level.nodes]


def _walk(store: SqlStore, session_id: str, parent_id: str | None, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        level = store.list_tree_level(session_id, parent_id, cursor, limit)
        seen += _ids(level)
        cursor = level.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


def _agent_run(seed: Seed) -> None:
    """An OTLP-like trace: an agent with a task holding an LLM call and a tool call, a second
    top-level step, and two spans whose parents never arrived."""
    seed.session("s1")
    seed.store.append_events(
        [
            event("s1", "agent", event_type="actions", start=0, duration=10),
            event("s1", "task", event_type="actions", start=1, duration=8, parent_id="agent"),
            event("s1", "llm", start=2, duration=3, parent_id="task"),
            event("s1", "tool", event_type="tools", start=6, duration=1, parent_id="task"),
            event("s1", "answer", event_type="actions", start=11, duration=1),
            event("s1", "lost-1", start=4, duration=1, parent_id="never-arrived"),
            event("s1", "lost-2", event_type="tools", start=12, parent_id="also-missing"),
        ]
    )


def test_each_level_lists_its_events_in_time_order_with_child_counts(seed: Seed) -> None:
    _agent_run(seed)
    store = seed.store
    top = store.list_tree_level("s1", None, None, 50)
    # orphans sit at the top level, in time order with the rest, and keep their parent id
    assert _ids(top) == ["agent", "lost-1", "answer", "lost-2"]
    assert [(n.event.parent_id, n.child_count) for n in top.nodes] == [
        (None, 1),
        ("never-arrived", 0),
        (None, 0),
        ("also-missing", 0),
    ]
    assert top.next_cursor is None and top.running == 0
    [task] = store.list_tree_level("s1", "agent", None, 50).nodes
    assert (task.event.id, task.event.parent_id, task.child_count) == ("task", "agent", 2)
    children = store.list_tree_level("s1", "task", None, 50)
    assert _ids(children) == ["llm", "tool"]
    llm = children.nodes[0].event
    assert (llm.event_type, llm.init_timestamp, llm.end_timestamp) == ("llms", at(2), at(5))
    assert (llm.model, llm.prompt_tokens, llm.cost_nanos) == ("gpt-4o", 10, 1_000)
    assert store.list_tree_level("s1", "llm", None, 50).nodes == []
    assert store.list_tree_level("s1", "no-such-event", None, 50).nodes == []


def test_children_are_counted_up_to_a_limit(store: SqlStore, seed: Seed) -> None:
    """A node with very many children costs no more to list than one at the limit."""
    seed.session("s1")
    store.append_events(
        [event("s1", "wide", event_type="actions"), event("s1", "narrow", event_type="actions")]
        + [event("s1", start=1 + i, parent_id="wide") for i in range(5)]
        + [event("s1", start=1 + i, parent_id="narrow") for i in range(3)]
    )
    store.child_count_limit = 3
    counts = {
        n.event.id: (n.child_count, n.child_count_exact)
        for n in store.list_tree_level("s1", None, None, 10).nodes
    }
    assert counts == {"wide": (3, False), "narrow": (3, True)}
    assert len(store.list_tree_level("s1", "wide", None, 10).nodes) == 5  # all still listed


def test_a_session_without_parent_ids_is_one_flat_level(store: SqlStore, seed: Seed) -> None:
    """v2 clients send no parent ids: every event is at the top, none has children."""
    seed.session("flat")
    store.append_events([event("flat", f"e{i:02}", start=i) for i in range(30)])
    top = store.list_tree_level("flat", None, None, 100)
    assert _ids(top) == [f"e{i:02}" for i in range(30)]
    assert {n.child_count for n in top.nodes} == {0}


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_keyset_pages_walk_a_level_once_in_order(seed: Seed, limit: int) -> None:
    store = seed.store
    seed.session("s1")
    writes = [event("s1", "root", event_type="actions", start=0, duration=100)]
    # children of a stored parent and of two missing ones, interleaved in time, with ties
    for i in range(12):
        parent = ["root", "gone-a", "gone-b"][i % 3]
        writes.append(event("s1", f"c{i:02}", start=1 + i // 2, parent_id=parent))
    writes.append(event("s1", "late", event_type="tools", start=50))
    store.append_events(writes)
    top = ["root", *[f"c{i:02}" for i in range(12) if i % 3], "late"]
    assert _walk(store, "s1", None, limit) == top
    assert _walk(store, "s1", "root", limit) == [f"c{i:02}" for i in range(0, 12, 3)]


def test_a_cursor_continues_only_its_own_level(seed: Seed) -> None:
    _agent_run(seed)
    store = seed.store
    cursor = store.list_tree_level("s1", None, None, 1).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidCursor):
        store.list_tree_level("s1", "task", cursor, 1)
    child_cursor = store.list_tree_level("s1", "task", None, 1).next_cursor
    assert child_cursor is not None
    with pytest.raises(InvalidCursor):
        store.list_tree_level("s1", None, child_cursor, 1)
    window = store.list_event_window("s1", at(0), at(20), None, 1).next_cursor
    assert window is not None
    for bad in [window, "bogus", "W10"]:  # a window's cursor, garbage, an empty list
        with pytest.raises(InvalidCursor):
            store.list_tree_level("s1", None, bad, 1)


def test_a_level_can_start_mid_session_with_what_is_still_running(seed: Seed) -> None:
    _agent_run(seed)
    store = seed.store
    # at 4.5 s the agent (0-10 s) and the orphan lost-1 (4-5 s) are running at the top
    top = store.list_tree_level("s1", None, None, 50, since=at(4.5))
    assert _ids(top) == ["agent", "lost-1", "answer", "lost-2"]
    assert top.running == 2
    later = store.list_tree_level("s1", None, None, 50, since=at(10.5))
    assert (_ids(later), later.running) == (["answer", "lost-2"], 0)
    # under the task at 5.5 s, the LLM call (2-5 s) has ended and the tool (6-7 s) is next
    assert _ids(store.list_tree_level("s1", "task", None, 50, since=at(5.5))) == ["tool"]
    # the cursor of a page that began mid-session continues after that page
    first = store.list_tree_level("s1", None, None, 1, since=at(4.5))
    assert _ids(first) == ["agent", "lost-1", "answer"]
    rest = store.list_tree_level("s1", None, first.next_cursor, 1, since=at(4.5))
    assert _ids(rest) == ["lost-2"] and rest.next_cursor is None


def test_parents_are_looked_up_in_the_same_session_only(store: SqlStore, seed: Seed) -> None:
    seed.session("s1")
    seed.session("s2")
    store.append_events(
        [
            event("s1", "parent", event_type="actions"),
            event("s2", "child", start=1, parent_id="parent"),
        ]
    )
    # s2 has no event "parent": its child is an orphan there, and s1's parent has no child
    assert [
        (n.event.id, n.child_count) for n in store.list_tree_level("s1", None, None, 9).nodes
    ] == [("parent", 0)]
    assert _ids(store.list_tree_level("s2", None, None, 9)) == ["child"]


def test_many_lost_parents_still_give_one_time_ordered_top_level(seed: Seed) -> None:
    """Past 20 missing parents their children are read together: same order, same pages."""
    store = seed.store
    seed.session("s1")
    tops = [(i * 2 + 0.5, f"top{i:02}") for i in range(10)]  # (start, id)
    lost = [(float(i), f"lost{i:02}") for i in range(25)]
    store.append_events(
        [event("s1", name, event_type="actions", start=start) for start, name in tops]
        + [event("s1", name, start=start, parent_id=f"gone-{name}") for start, name in lost]
    )
    expected = [name for _, name in sorted(tops + lost)]
    assert _ids(store.list_tree_level("s1", None, None, 100)) == expected
    assert _walk(store, "s1", None, 7) == expected
