"""Store.append_events speed: batches of N typical events (~600-byte payloads) into one session.

    .venv/bin/python benchmarks/append.py [--database-url URL] [--batches 60] [--batch-size 500]
        [--processes N [--same-session]]

Prints per-batch latency (p50, p90, best) and events/s, excluding building the events; with
--processes, the total events/s of N writer processes (each its own session by default).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import CostSource, EventWrite, SessionWrite
from agentops_server.storage.sql_store import open_store

PAYLOAD = {
    "prompt": [{"role": "user", "content": "Summarize the attached report. " * 12}],
    "completion": {"role": "assistant", "content": "The report says that sales grew. " * 4},
    "params": {"temperature": 0.2, "max_tokens": 512},
    "returns": None,
}


def make_batch(session_id: str, size: int, t0: datetime) -> list[EventWrite]:
    return [
        EventWrite(
            id=str(uuid.uuid4()),
            session_id=session_id,
            event_type="llms",
            init_timestamp=t0 + timedelta(milliseconds=i),
            end_timestamp=t0 + timedelta(milliseconds=i + 800),
            agent_id=None,
            name="gpt-4o-mini",
            model="gpt-4o-mini",
            provider="openai",
            prompt_tokens=120,
            completion_tokens=40,
            cache_read_tokens=None,
            cache_write_tokens=None,
            reasoning_tokens=None,
            cost_nanos=42_000,
            cost_source=CostSource.COMPUTED,
            payload=PAYLOAD,
        )
        for i in range(size)
    ]


@contextmanager
def throwaway_postgres(wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    import psycopg

    admin = os.environ.get(
        "AGENTOPS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres"
    )
    name = f"agentops_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rpartition("/")[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _writer(url: str, session_id: str, batches: int, size: int, start: Any, out: Any) -> None:
    store = open_store(url)
    now = datetime.now(UTC)
    work = [make_batch(session_id, size, now + timedelta(seconds=b)) for b in range(batches)]
    start.wait(60)
    t = time.perf_counter()
    for batch in work:
        store.append_events(batch)
    out.put(time.perf_counter() - t)
    store.close()


def parallel(url: str, project_id: str, args: argparse.Namespace, store: Any) -> None:
    """N processes, each appending to its own session (or all to one with --same-session)."""
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    shared = str(uuid.uuid4())
    procs = []
    for _ in range(args.processes):
        sid = shared if args.same_session else str(uuid.uuid4())
        store.write_session(SessionWrite(id=sid, project_id=project_id), create=True)
        procs.append(
            ctx.Process(target=_writer, args=(url, sid, args.batches, args.batch_size, start, out))
        )
    for p in procs:
        p.start()
    time.sleep(3)  # let every process build its batches
    t = time.perf_counter()
    start.set()
    for p in procs:
        p.join(600)
    wall = time.perf_counter() - t
    total = args.processes * args.batches * args.batch_size
    print(
        f"{url.split(':')[0]}: {args.processes} processes x {args.batches} batches of "
        f"{args.batch_size}{' (one session)' if args.same_session else ''}: "
        f"{total / wall:,.0f} events/s in total"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--postgres", action="store_true", help="use a throwaway PostgreSQL database"
    )
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--processes", type=int, default=1, help="parallel writer processes")
    parser.add_argument("--same-session", action="store_true", help="all writers, one session")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, throwaway_postgres(args.postgres) as pg_url:
        url = args.database_url or pg_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        store = open_store(url)
        project = store.create_project("bench")
        if args.processes > 1:
            parallel(url, project.id, args, store)
            store.close()
            return
        now = datetime.now(UTC)
        session = SessionWrite(id=str(uuid.uuid4()), project_id=project.id, init_timestamp=now)
        store.write_session(session, create=True)
        batches = [
            make_batch(session.id, args.batch_size, now + timedelta(seconds=b))
            for b in range(args.batches)
        ]
        latencies = []
        cpu_started = time.process_time()
        started = time.perf_counter()
        for batch in batches:
            t = time.perf_counter()
            store.append_events(batch)
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        store.close()
    ms = sorted(x * 1000 for x in latencies)
    total = args.batches * args.batch_size
    print(
        f"{url.split(':')[0]}: {args.batches} batches of {args.batch_size}: "
        f"p50 {statistics.median(ms):.1f} ms, p90 {ms[int(len(ms) * 0.9)]:.1f} ms, "
        f"best {ms[0]:.1f} ms; {total / elapsed:,.0f} events/s; "
        f"CPU {cpu / args.batches * 1000:.1f} ms/batch (all threads)"
    )


if __name__ == "__main__":
    main()
