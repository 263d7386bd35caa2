"""Concurrent appends from threads (both engines) and processes (PostgreSQL; SQLite too, via
its file lock) with overlapping ids: nothing lost, nothing counted twice."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import SqlStore, open_store
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
