"""Concurrent appends from threads (both engines) and processes (PostgreSQL; SQLite too, via
its file lock) with overlapping ids: nothing lost, nothing counted twice."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable

import pytest

from agentops_server.storage import session_words
from agentops_server.storage.engine import create_engines
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import SessionFilter, SessionWrite
from agentops_server.storage.sql_store import SqlStore, open_store
from agentops_server.storage.trace_sql import write_agent
from tests.storage.builders import Seed, event

WORKERS = 4
BATCHES = 15
BATCH = 40


def _batches(worker: int) -> list[list[tuple[str, str]]]:
    """Every worker sends its own ids and, overlapping, the shared ids (and its neighbour's)."""
    out = []
    for b in range(BATCHES):
        rows = [("hot", f"shared-{b}-{i}") for i in range(BATCH // 2)]
        rows += [("hot", f"w{worker}-{b}-{i}") for i in range(BATCH // 4)]
        rows += [("hot", f"w{(worker + 1) % WORKERS}-{b}-{i}") for i in range(BATCH // 4)]
        rows += [(f"own-{worker}", f"x{b}-{i}") for i in range(5)]
        out.append(rows)
    return out


def _send(store: SqlStore, worker: int) -> None:
    for rows in _batches(worker):
        store.append_events([event(s, e, cost_nanos=7) for s, e in rows])


def _expected() -> tuple[int, int]:
    hot = {e for w in range(WORKERS) for rows in _batches(w) for s, e in rows if s == "hot"}
    own = BATCHES * 5
    return len(hot), own


def _check(store: SqlStore, project_id: str) -> None:
    hot, own = _expected()
    stats = store.get_stats(project_id, "hot")
    assert (stats.events, stats.llms, stats.cost_nanos) == (hot, hot, 7 * hot)
    assert stats.prompt_tokens == 10 * hot
    assert sum(1 for _ in store.iter_events("hot")) == hot
    for w in range(WORKERS):
        assert store.get_stats(project_id, f"own-{w}").events == own


def _prepare(seed: Seed) -> None:
    seed.session("hot")
    for w in range(WORKERS):
        seed.session(f"own-{w}")


def test_threads_appending_overlapping_batches_give_exact_stats(seed: Seed) -> None:
    _prepare(seed)
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            _send(seed.store, worker)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    _check(seed.store, seed.project_id)


def _process_main(database_url: str, worker: int, start: object) -> None:
    store = open_store(database_url)
    try:
        start.wait(30)  # type: ignore[attr-defined]
        _send(store, worker)
    finally:
        store.close()


@pytest.mark.slow
def test_processes_appending_overlapping_batches_give_exact_stats(database_url: str) -> None:
    upgrade(database_url)
    store = open_store(database_url)
    try:
        seed = Seed.create(store)
        _prepare(seed)
        ctx = multiprocessing.get_context("spawn")
        start = ctx.Event()
        procs = [
            ctx.Process(target=_process_main, args=(database_url, w, start)) for w in range(WORKERS)
        ]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(timeout=180)
        assert [p.exitcode for p in procs] == [0] * WORKERS
        _check(store, seed.project_id)
    finally:
        store.close()


def test_threads_renaming_a_session_and_its_agents_leave_the_last_names_to_search(
    seed: Seed,
) -> None:
    """On PostgreSQL the session's own words are replaced by writers at once (a rename, agents
    named by create_agent and by OTLP spans, events arriving): the search finds the names the
    session ends with, and none of those it had before."""
    seed.session("named")
    rounds = 15  # names end in z: "clerk1" would find "clerk14" by its start
    store, project_id = seed.store, seed.project_id

    def rename() -> None:
        for i in range(rounds):
            write = SessionWrite(
                "named", project_id, name=f"session{i}z", end_state_reason=f"r{i}z"
            )
            store.write_session(write, create=False)

    def name_agent() -> None:
        for i in range(rounds):
            store.upsert_agent("named", "a1", f"clerk{i}z")

    def trace_agent() -> None:
        for i in range(rounds):
            store.finish_traces([("named", "t1", f"tracer{i}z")], [])

    def append() -> None:
        for i in range(rounds):
            store.append_events([event("named", f"e{i}", payload={"prompt": f"word{i}"})])

    errors: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in (rename, name_agent, trace_agent)]
    threads.append(threading.Thread(target=run, args=(append,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors

    def found(text: str) -> list[str]:
        page = store.list_sessions(project_id, SessionFilter(text=text), None, 10)
        return [s.id for s in page.sessions]

    last = rounds - 1
    assert found(f"session{last}z r{last}z clerk{last}z tracer{last}z word0 word{last}") == [
        "named"
    ]
    for before in range(last):
        assert found(f"session{before}z") == found(f"clerk{before}z") == [], before
        assert found(f"tracer{before}z") == found(f"r{before}z") == [], before


def test_a_rename_waits_for_an_agent_named_at_the_same_time(seed: Seed, database_url: str) -> None:
    """Another writer (a replica) names an agent and replaces the session's own words, and
    before it commits the session is renamed: the rename waits for it and replaces what it
    wrote, so the name the session lost finds it no more."""
    seed.session("s", name="old title")
    errors: list[BaseException] = []

    def rename() -> None:
        try:
            write = SessionWrite("s", seed.project_id, name="new title")
            seed.store.write_session(write, create=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    renaming = threading.Thread(target=rename)
    other = create_engines(database_url)
    try:
        with other.write.begin() as conn:  # an agent's name, as upsert_agent writes it
            session_words.lock(conn, other.dialect, ["s"])
            assert write_agent(conn, other.dialect, "s", "a1", "Clerk")
            session_words.refresh(conn, other.dialect, ["s"])
            renaming.start()
            renaming.join(0.5)
            assert renaming.is_alive()  # it waits for the session
    finally:
        renaming.join(30)
        other.dispose()
    assert not errors

    def found(text: str) -> list[str]:
        page = seed.store.list_sessions(seed.project_id, SessionFilter(text=text), None, 10)
        return [s.id for s in page.sessions]

    assert (found("old"), found("new title clerk")) == ([], ["s"])
