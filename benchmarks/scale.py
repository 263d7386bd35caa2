"""Storage at scale, SQLite and PostgreSQL side by side.

Seeds 1,000,000 events in 100,000 sessions straight through the storage layer, then measures
get_stats and list_sessions latency (p50, p99) and the export of one 100,000-event session
through the store's event iterator (events/s, peak Python memory).

    .venv/bin/python benchmarks/scale.py [--engines sqlite,postgres] [--sessions 100000]
        [--events-per-session 10] [--big-session 100000]

Then ingest over HTTP into a real `agentops serve` with 1 and 2 workers per engine (the loop
of benchmarks/ingest.py: --ingest-events 0 skips it, --ingest-clients sets the concurrency).

PostgreSQL: a throwaway database on AGENTOPS_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks.ingest, tests.*
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import CostSource, EventWrite, SessionFilter
from agentops_server.storage.sql_store import SqlStore, open_store
from agentops_server.storage.transfer import FORMAT, VERSION, import_database
from agentops_server.storage.types import dumps

ADMIN_URL = os.environ.get(
    "AGENTOPS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TAGS = [f"team-{n}" for n in range(10)]
PAYLOAD = {
    "prompt": [{"role": "user", "content": "What is the weather in Paris today? " * 4}],
    "completion": {"role": "assistant", "content": "Sunny, 21 degrees."},
    "params": {"temperature": 0.2},
}


@contextmanager
def database(engine: str) -> Iterator[str]:
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'scale.sqlite3'}"
        return
    import psycopg

    name = f"agentops_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rpartition("/")[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def session_lines(project_id: str, ids: list[str]) -> Iterator[str]:
    """Sessions, their stats rows and tags, in the transfer format (bulk insert)."""
    yield dumps({"format": FORMAT, "version": VERSION, "counts": {}})
    starts = {}
    for n, sid in enumerate(ids):
        start = T0 + timedelta(seconds=n * 60)
        starts[sid] = start
        tags = [TAGS[n % 10]] + (["rare"] if n % 1000 == 0 else [])
        ended = n % 3 != 0
        yield dumps({"table": "sessions", "row": {
            "id": sid, "project_id": project_id, "parent_project_id": None,
            "init_timestamp": start.isoformat(),
            "end_timestamp": (start + timedelta(seconds=30)).isoformat() if ended else None,
            "end_state": ("Success" if n % 7 else "Fail") if ended else "Indeterminate",
            "end_state_reason": None, "tags": tags, "host_env": {"OS": {"OS": "Linux"}},
            "video": None, "created_at": start.isoformat(),
            "last_activity_at": start.isoformat(), "auto_ended": False,
        }})  # fmt: skip
    for sid in ids:
        yield dumps({"table": "session_stats", "row": {"session_id": sid}})
    for n, sid in enumerate(ids):
        for tag in [TAGS[n % 10]] + (["rare"] if n % 1000 == 0 else []):
            yield dumps({"table": "session_tags", "row": {
                "session_id": sid, "tag": tag, "project_id": project_id,
                "init_timestamp": starts[sid].isoformat(),
            }})  # fmt: skip


def make_events(session_id: str, count: int, start: datetime) -> list[EventWrite]:
    kinds = [
        "llms",
        "tools",
        "llms",
        "actions",
        "llms",
        "tools",
        "llms",
        "actions",
        "llms",
        "errors",
    ]
    return [
        EventWrite(
            id=str(uuid.uuid4()), session_id=session_id, event_type=kinds[i % 10],
            init_timestamp=start + timedelta(milliseconds=i * 10),
            end_timestamp=start + timedelta(milliseconds=i * 10 + 5),
            agent_id=None, name="gpt-4o-mini", model="gpt-4o-mini", provider="openai",
            prompt_tokens=120, completion_tokens=30, cache_read_tokens=None,
            cache_write_tokens=None, reasoning_tokens=None, cost_nanos=36_000,
            cost_source=CostSource.COMPUTED, payload=PAYLOAD,
        )
        for i in range(count)
    ]  # fmt: skip


def seed(url: str, store: SqlStore, sessions: int, per_session: int, big: int) -> tuple[str, str]:
    project = store.create_project("scale")
    ids = [str(uuid.uuid4()) for _ in range(sessions)]
    t = time.perf_counter()
    import_database(url, session_lines(project.id, ids), chunk_rows=5000)
    print(f"  seeded {sessions:,} sessions in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    group = max(1, 5000 // per_session)
    for g in range(0, sessions, group):
        batch: list[EventWrite] = []
        for n in range(g, min(g + group, sessions)):
            batch += make_events(ids[n], per_session, T0 + timedelta(seconds=n * 60))
        store.append_events(batch)
    took = time.perf_counter() - t
    print(f"  appended {sessions * per_session:,} events in {took:.1f} s "
          f"({sessions * per_session / took:,.0f} events/s, 5,000 per transaction)")  # fmt: skip
    big_id = ids[len(ids) // 2]
    t = time.perf_counter()
    for start in range(0, big, 5000):
        store.append_events(
            make_events(big_id, min(5000, big - start), T0 + timedelta(days=400, seconds=start))
        )
    print(f"  appended {big:,} events to one session in {time.perf_counter() - t:.1f} s")
    store.analyze()  # what autovacuum (PostgreSQL) would do soon after such a bulk load
    return project.id, big_id


def latency(name: str, runs: int, work: Callable[[int], object]) -> None:
    times = []
    for i in range(runs):
        t = time.perf_counter()
        work(i)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"  {name:<44} p50 {statistics.median(times):7.2f} ms   p99 {p99:7.2f} ms")


def measure(store: SqlStore, project_id: str, big_id: str, sessions: int) -> None:
    rng = random.Random(7)
    page = store.list_sessions(project_id, SessionFilter(), None, 50)
    ids = [s.id for s in page.sessions]
    for _ in range(20):  # a sample of ids across the whole range, via deep pages
        page = store.list_sessions(project_id, SessionFilter(), page.next_cursor, 1000)
        ids += [s.id for s in page.sessions[::50]]

    def pick() -> str:
        return rng.choice(ids)

    def listing(filters: SessionFilter, cursor: str | None = None) -> Callable[[int], object]:
        return lambda i: store.list_sessions(project_id, filters, cursor, 50)

    latency("get_stats (random session)", 2000, lambda i: store.get_stats(project_id, pick()))
    latency("get_session (random session)", 1000, lambda i: store.get_session(project_id, pick()))
    latency("list_sessions, first page of 50", 300, listing(SessionFilter()))
    cursors: list[str | None] = [None]
    p = store.list_sessions(project_id, SessionFilter(), None, 50)
    for _ in range(200):
        cursors.append(p.next_cursor)
        p = store.list_sessions(project_id, SessionFilter(), p.next_cursor, 50)
    latency(
        "list_sessions, pages 1-200 by cursor",
        200,
        lambda i: store.list_sessions(project_id, SessionFilter(), cursors[i], 50),
    )
    latency("list_sessions, tag=team-3, first page", 300, listing(SessionFilter(tags=("team-3",))))
    latency(
        "list_sessions, tag=rare (0.1%), first page", 100, listing(SessionFilter(tags=("rare",)))
    )
    latency(
        "list_sessions, end_state=Fail, first page", 300, listing(SessionFilter(end_state="Fail"))
    )
    middle = T0 + timedelta(seconds=sessions * 30)
    window = SessionFilter(started_after=middle, started_before=middle + timedelta(days=1))
    latency("list_sessions, one-day window, first page", 300, listing(window))
    latency(
        "list_sessions, text search (id prefix)",
        20,
        lambda i: store.list_sessions(project_id, SessionFilter(text=ids[i][:8]), None, 50),
    )

    t = time.perf_counter()
    n = sum(1 for _ in store.iter_events(big_id))
    took = time.perf_counter() - t
    tracemalloc.start()
    m = sum(1 for _ in store.iter_events(big_id))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == m
    print(f"  export of a {n:,}-event session via iter_events: {took:.2f} s "
          f"({n / took:,.0f} events/s), peak Python memory {peak / 2**20:.1f} MiB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--events-per-session", type=int, default=10)
    parser.add_argument("--big-session", type=int, default=100_000)
    parser.add_argument("--ingest-events", type=int, default=100_000)
    parser.add_argument("--ingest-clients", type=int, default=8)
    parser.add_argument("--ingest-batch-size", type=int, default=500)
    args = parser.parse_args()
    engines = args.engines.split(",")
    for engine in engines:
        print(f"{engine}:")
        with database(engine) as url:
            upgrade(url)
            store = open_store(url)
            try:
                project_id, big_id = seed(
                    url, store, args.sessions, args.events_per_session, args.big_session
                )
                measure(store, project_id, big_id, args.sessions)
            finally:
                store.close()
    if args.ingest_events:
        from benchmarks.ingest import measure_ingest, print_table

        print(f"ingest over HTTP, {args.ingest_clients} clients:")
        rows = measure_ingest(
            engines,
            [1, 2],
            [args.ingest_batch_size],
            events=args.ingest_events,
            sessions=20,
            clients=args.ingest_clients,
        )
        print_table(rows)


if __name__ == "__main__":
    main()
