"""WriteBatcher: results per submission after commit, isolation of bad submissions, drain."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from agentops_server.storage.batcher import WriteBatcher, WriterClosed
from agentops_server.storage.records import AppendResult
from agentops_server.storage.store import NotFound
from tests.storage.builders import Seed, event


def test_many_submissions_each_get_their_own_result(seed: Seed) -> None:
    seed.session("s1")
    batcher = WriteBatcher(seed.store, max_rows=50)
    futures: list[Future[AppendResult]] = []
    for n in range(40):
        # every id is sent twice, in consecutive submissions: counted once, first one wins
        futures.append(batcher.submit([event("s1", f"e{n}"), event("s1", f"e{n + 1}")]))
    results = [f.result(timeout=30) for f in futures]
    assert batcher.close(timeout=30)
    assert sum(r.inserted for r in results) == 41
    assert results[0] == AppendResult(inserted=2, duplicates=0, session_ids=["s1"])
    assert all(r.inserted + r.duplicates == 2 for r in results)
    assert seed.store.get_stats(seed.project_id, "s1").events == 41


def test_a_bad_submission_fails_alone(seed: Seed) -> None:
    seed.session("s1")
    batcher = WriteBatcher(seed.store)
    good1 = batcher.submit([event("s1", "a")])
    bad = batcher.submit([event("ghost", "b")])
    good2 = batcher.submit([event("s1", "c")])
    assert batcher.close(timeout=30)
    assert good1.result().inserted == 1 and good2.result().inserted == 1
    with pytest.raises(NotFound):
        bad.result()
    assert seed.store.get_stats(seed.project_id, "s1").events == 2


def test_close_drains_everything_submitted_and_then_refuses(seed: Seed) -> None:
    seed.session("s1")
    batcher = WriteBatcher(seed.store, max_rows=500)
    futures = [batcher.submit([event("s1", f"e{i}-{j}") for j in range(100)]) for i in range(30)]
    assert batcher.close(timeout=60)
    assert all(f.done() for f in futures)
    assert sum(f.result().inserted for f in futures) == 3000
    assert seed.store.get_stats(seed.project_id, "s1").events == 3000
    with pytest.raises(WriterClosed):
        batcher.submit([event("s1", "late")])


def test_several_writers_keep_statistics_exact(seed: Seed) -> None:
    """The PostgreSQL setting (several transactions in flight): submissions for the same
    sessions, each id sent twice from different threads, are stored and counted once."""
    seed.session("s1")
    seed.session("s2")
    batcher = WriteBatcher(seed.store, max_rows=300, writers=3)
    futures: list[Future[AppendResult]] = []

    def send(offset: int) -> None:
        for n in range(0, 2000, 100):
            for sid in ("s1", "s2"):
                ids = [f"e{i}" for i in range(n + offset, n + offset + 100)]
                futures.append(batcher.submit([event(sid, i) for i in ids]))

    senders = [threading.Thread(target=send, args=(offset,)) for offset in (0, 50, 0)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert batcher.close(timeout=120)
    results = [f.result(timeout=0) for f in futures]
    assert sum(r.inserted for r in results) == 2 * 2050
    assert sum(r.inserted + r.duplicates for r in results) == 3 * 2 * 2000
    for sid in ("s1", "s2"):
        stats = seed.store.get_stats(seed.project_id, sid)
        assert (stats.events, stats.llms, stats.prompt_tokens, stats.cost_nanos) == (
            2050,
            2050,
            2050 * 10,
            2050 * 1_000,
        )


def test_writers_must_be_positive(seed: Seed) -> None:
    with pytest.raises(ValueError, match="writers must be at least 1"):
        WriteBatcher(seed.store, writers=0)


def test_a_job_runs_on_the_writer_after_what_was_submitted_before_it(seed: Seed) -> None:
    """run(): what an OTLP request does start to finish on SQLite's one writer thread. The
    events submitted before the job are committed when it runs, its result or its error
    reaches its caller, and the writer goes on with what comes after."""
    seed.session("s1")
    batcher = WriteBatcher(seed.store, max_rows=1000)
    before = [batcher.submit([event("s1", f"e{i}")]) for i in range(20)]
    seen = batcher.run(lambda: (threading.current_thread().name, _events(seed, "s1")))
    failed = batcher.run(lambda: seed.store.append_events([event("ghost", "x")]))
    after = batcher.submit([event("s1", "last")])
    assert batcher.close(timeout=30)
    assert seen.result() == ("agentops-writer-0", 20)
    with pytest.raises(NotFound):
        failed.result()
    assert [f.result().inserted for f in before + [after]] == [1] * 21
    assert seed.store.get_stats(seed.project_id, "s1").events == 21
    with pytest.raises(WriterClosed):
        batcher.run(lambda: None)


def _events(seed: Seed, session_id: str) -> int:
    return seed.store.get_stats(seed.project_id, session_id).events
