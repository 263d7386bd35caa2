"""End-to-end ingestion speed of a real `agentops serve`: events persisted per second, measured
until the stats endpoint shows every event, for batches of 25 (the 0.3 client's size) and 500.

    .venv/bin/python benchmarks/ingest.py [--events 100000] [--small-batch-events 25000]
                                          [--sessions 20] [--clients 4]
                                          [--batch-sizes 25,500] [--engines sqlite,postgres]
                                          [--workers 1,2] [--database-url URL]
                                          [--export-events 100000] [--httpx-client]

Bodies are built before the clock starts (typical 0.3.26 events: 1 LLM call, 2 actions,
1 tool call per 4 events, with prompts and completions). Reports events/s, request latency and
the server's peak RSS (VmHWM), and beside each rate the rate of raw SQLite inserting the same
rows in transactions of the same size (and the ratio): into a one-index table, and into the
server's own events table with its indexes. --export-events also streams a session
of that many events and reports the server's RSS before and after (a streamed export keeps
memory flat).

CPU per event is reported for the server (all its processes), for PostgreSQL (the backends
serving the benchmark's database) and for this load generator: on a machine with C cores the
events/s cannot pass C / (their sum), whatever the parallelism. The load generator sends
prepared request bytes over keep-alive sockets (benchmarks/http_load.py), so that it takes
little of the cores the server runs on; `--httpx-client` sends with httpx instead.
PostgreSQL runs in a throwaway database on AGENTOPS_BENCH_POSTGRES_URL (as
benchmarks/scale.py), unless --database-url is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.sql_store import open_store
from benchmarks import http_load
from benchmarks.scale import database
from tests.support.server import ServerProcess


def events_for(n: int, start: int) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + n):
        base: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "init_timestamp": f"2026-11-21T12:{(i // 60) % 60:02d}:{i % 60:02d}.123456+00:00",
            "end_timestamp": f"2026-11-21T12:{(i // 60) % 60:02d}:{i % 60:02d}.523456+00:00",
            "agent_id": None,
            "session_id": "ignored",
            "params": {"step": i, "self": ""},
        }
        kind = i % 4
        if kind == 0:
            base.update(
                event_type="llms",
                thread_id=None,
                model="gpt-4o-mini",
                prompt=[{"role": "user", "content": f"Summarize item {i} of the report."}],
                completion={"role": "assistant", "content": "It says sales grew by 4%."},
                prompt_tokens=200 + i % 50,
                completion_tokens=30 + i % 20,
                cost=None,
                returns="",
            )
        elif kind == 3:
            base.update(
                event_type="tools", name="search", tool_name="search", logs=None, returns=["a"]
            )
        else:
            base.update(
                event_type="actions",
                action_type="think",
                name="think",
                logs=None,
                screenshot=None,
                returns={"ok": True},
            )
        out.append(base)
    return out


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (serve --workers N runs N children)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


class CpuMeter:
    """CPU seconds used by the server's processes and by PostgreSQL's backends for its database
    (only when PostgreSQL runs on this machine: /proc must show its processes)."""

    def __init__(self, server_pid: int, database_url: str | None) -> None:
        self._server_pid = server_pid
        self._database_url = database_url
        self._start = self._read()

    def _postgres_pids(self) -> list[int]:
        if not self._database_url or not self._database_url.startswith("postgresql"):
            return []
        import psycopg

        with psycopg.connect(self._database_url.replace("+psycopg", "")) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [int(row[0]) for row in rows if Path(f"/proc/{row[0]}").exists()]

    def _read(self) -> dict[str, dict[int, float]]:
        return {
            "server": {p: cpu_seconds(p) for p in process_tree(self._server_pid)},
            "postgres": {p: cpu_seconds(p) for p in self._postgres_pids()},
            "client": {0: time.process_time()},
        }

    def used(self) -> dict[str, float]:
        """CPU seconds per part since the meter started."""
        end = self._read()
        return {
            part: sum(cpu - self._start[part].get(pid, 0.0) for pid, cpu in end[part].items())
            for part in end
        }


def post_concurrently(
    url: str, requests: list[tuple[bytes, dict[str, str]]], clients: int, *, lean: bool = True
) -> list[float]:
    """POST every (body, headers) to `url` from `clients` threads; the latencies, sorted.
    `lean`: over plain sockets with each request's bytes built first (benchmarks/http_load.py),
    else with httpx (the earlier measurements' load generator: about 20 us of CPU per event of
    a batch of 25, on the cores the server runs on)."""
    if lean:
        return http_load.post_all(
            url, [http_load.request_bytes(url, body, head) for body, head in requests], clients
        )
    latencies: list[float] = []
    lock = threading.Lock()
    cursor = iter(requests)

    def client() -> None:
        with httpx.Client(timeout=60, verify=False) as http:  # plain HTTP: no CA bundle to load
            while True:
                with lock:
                    request = next(cursor, None)
                if request is None:
                    return
                t = time.perf_counter()
                http.post(url, content=request[0], headers=request[1]).raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(latencies)


def open_sessions(server: ServerProcess, count: int) -> list[tuple[str, str]]:
    sessions = []
    for _ in range(count):
        sid = str(uuid.uuid4())
        res = httpx.post(
            f"{server.url}/v2/create_session",
            json={"session": {"session_id": sid}},
            headers={"X-Agentops-Api-Key": server.api_key},
        )
        res.raise_for_status()
        sessions.append((sid, res.json()["jwt"]))
    return sessions


def run(
    server: ServerProcess,
    total: int,
    batch: int,
    n_sessions: int,
    clients: int,
    label: str,
    lean: bool = True,
) -> float:
    sessions = open_sessions(server, n_sessions)
    bodies: list[tuple[str, bytes]] = []
    for start in range(0, total, batch):
        _, jwt = sessions[(start // batch) % n_sessions]
        body = json.dumps({"events": events_for(min(batch, total - start), start)}).encode()
        bodies.append((jwt, body))
    # what agentops 0.3.26 sends with every create_events: the token and the API key
    headers = {"Content-Type": "application/json", "X-Agentops-Api-Key": server.api_key}
    requests = [(body, headers | {"Authorization": f"Bearer {jwt}"}) for jwt, body in bodies]
    assert server.proc is not None
    meter = CpuMeter(server.proc.pid, server.database_url)
    t0 = time.perf_counter()
    latencies = post_concurrently(f"{server.url}/v2/create_events", requests, clients, lean=lean)
    seen = 0
    with httpx.Client(timeout=60, verify=False) as http:
        while seen < total:  # persisted = visible through the stats endpoint
            seen = sum(
                http.get(
                    f"{server.url}/v2/sessions/{sid}/stats",
                    headers={"X-Agentops-Api-Key": server.api_key},
                ).json()["events"]
                for sid, _ in sessions
            )
    elapsed = time.perf_counter() - t0
    cpu = {part: seconds / total * 1e6 for part, seconds in meter.used().items()}
    print(
        f"{label}, batches of {batch:>3}: {total:,} events in {elapsed:.2f} s = "
        f"{total / elapsed:,.0f} events/s persisted ({len(bodies)} requests, {clients} clients; "
        f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, p90 "
        f"{latencies[int(len(latencies) * 0.9)] * 1000:.1f} ms); server peak RSS "
        f"{rss_kib(server.proc.pid, 'VmHWM') / 1024:.0f} MiB; CPU per event: server "
        f"{cpu['server']:.0f} us, PostgreSQL {cpu['postgres']:.0f} us, load generator "
        f"{cpu['client']:.0f} us ({'lean' if lean else 'httpx'})",
        flush=True,
    )
    return total / elapsed


def raw_sqlite_rate(total: int, batch: int) -> float:
    """Rows/s of the same events inserted straight into SQLite, as a floor for what a server
    could do: one table (id primary key, session, type, two times, the JSON payload), WAL and
    synchronous=NORMAL like the server's, one transaction per `batch` rows by executemany."""
    rows = [
        (e["id"], "s", e["event_type"], e["init_timestamp"], e["end_timestamp"], json.dumps(e))
        for start in range(0, total, batch)
        for e in events_for(min(batch, total - start), start)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "raw.sqlite3", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE events (id TEXT PRIMARY KEY, session_id TEXT, event_type TEXT,"
            " init_timestamp TEXT, end_timestamp TEXT, payload TEXT)"
        )
        started = time.perf_counter()
        for start in range(0, total, batch):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows[start : start + batch]
            )
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return total / elapsed


TIMES = ("init_timestamp", "end_timestamp")


def schema_sqlite_rate(total: int, batch: int, sessions: int) -> float:
    """Rows/s of the same events inserted straight into the server's own events table (its
    indexes, foreign key and ON CONFLICT skip, made by the migrations), `sessions` sessions
    taking turns as in run(), one transaction per `batch` rows by executemany: what SQLite
    alone costs for the server's schema, before any statistics, search index or Python."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/schema.sqlite3"
        upgrade(url)
        store = open_store(url)
        project = store.create_project("raw")
        ids = [str(uuid.uuid4()) for _ in range(sessions)]
        for session_id in ids:
            store.write_session(SessionWrite(id=session_id, project_id=project.id), create=True)
        store.close()
        rows = []
        for start in range(0, total, batch):
            session_id = ids[(start // batch) % sessions]
            for e in events_for(min(batch, total - start), start):
                start_at, end_at = (e[k].replace("T", " ")[:26] for k in TIMES)  # as stored
                rows.append(
                    (session_id, e["id"], e["event_type"], start_at, end_at, e.get("name"),
                     e.get("model"), e.get("prompt_tokens"), e.get("completion_tokens"),
                     json.dumps(e))
                )  # fmt: skip
        conn = sqlite3.connect(Path(tmp) / "schema.sqlite3", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        insert = (
            "INSERT INTO events (session_id, id, event_type, init_timestamp, end_timestamp, name,"
            " model, prompt_tokens, completion_tokens, cost_source, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'none', ?) ON CONFLICT (session_id, id) DO NOTHING"
        )
        started = time.perf_counter()
        for start in range(0, total, batch):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, rows[start : start + batch])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return total / elapsed


def export_memory(server: ServerProcess, count: int) -> None:
    ((sid, jwt),) = open_sessions(server, 1)
    with httpx.Client(timeout=120) as http:
        for start in range(0, count, 1000):
            body = json.dumps({"events": events_for(min(1000, count - start), start)})
            http.post(
                f"{server.url}/v2/create_events",
                content=body,
                headers={"Authorization": f"Bearer {jwt}", "Content-Type": "application/json"},
            ).raise_for_status()
        assert server.proc is not None
        before = rss_kib(server.proc.pid, "VmRSS")
        peak = 0
        size = 0
        t = time.perf_counter()
        with http.stream(
            "GET",
            f"{server.url}/v2/sessions/{sid}/export",
            headers={"X-Agentops-Api-Key": server.api_key},
        ) as res:
            for chunk in res.iter_raw():
                size += len(chunk)
                peak = max(peak, rss_kib(server.proc.pid, "VmRSS"))
        elapsed = time.perf_counter() - t
    print(
        f"export of {count:,} events: {size / 2**20:.0f} MiB in {elapsed:.1f} s; server RSS "
        f"{before / 1024:.0f} MiB before, at most {peak / 1024:.0f} MiB while streaming",
        flush=True,
    )


def measure_ingest(
    targets: list[str],
    workers_list: list[int],
    batch_sizes: list[int],
    *,
    events: int,
    small_batch_events: int = 25_000,
    sessions: int,
    clients: int,
    lean: bool = True,
) -> list[tuple[str, int, float]]:
    """Run a fresh server per (target, workers, batch size); (label, batch size, events/s)."""
    rows = []
    for target in targets:
        for workers in workers_list:
            for batch in batch_sizes:
                with tempfile.TemporaryDirectory() as tmp, _database(target) as url:
                    engine = "sqlite" if url is None else url.split(":")[0].split("+")[0]
                    label = f"{engine}, {workers} worker{'s' if workers > 1 else ''}"
                    server = ServerProcess(
                        data_dir=Path(tmp),
                        database_url=url,
                        extra_args=["--log-level", "warning", "--workers", str(workers)],
                    ).start()
                    try:
                        total = events if batch >= 100 else min(events, small_batch_events)
                        rate = run(server, total, batch, sessions, clients, label, lean)
                    finally:
                        server.stop()
                    rows.append((label, batch, rate))
                    raw = raw_sqlite_rate(total, batch)
                    print(
                        f"  raw SQLite, the same {total:,} rows in transactions of {batch}: "
                        f"{raw:,.0f} rows/s; this server reached {rate / raw:.0%} of it",
                        flush=True,
                    )
                    own = schema_sqlite_rate(total, batch, sessions)
                    print(
                        f"  raw SQLite into the server's own events table (its indexes): "
                        f"{own:,.0f} rows/s; this server reached {rate / own:.0%} of it",
                        flush=True,
                    )
    return rows


def print_table(rows: list[tuple[str, int, float]]) -> None:
    print("\n| engine, workers | batch size | events/s |\n|---|---|---|")
    for label, batch, rate in rows:
        print(f"| {label} | {batch} | {rate:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--small-batch-events",
        type=int,
        default=25_000,
        help="at most this many events for batches under 100 (a short run by default)",
    )
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch-sizes", default="25,500")
    parser.add_argument("--engines", default="sqlite", help="sqlite,postgres: throwaway databases")
    parser.add_argument("--database-url", help="an existing database instead of --engines")
    parser.add_argument("--export-events", type=int, default=0)
    parser.add_argument("--workers", default="1", help="serve --workers N; a list runs each")
    parser.add_argument(
        "--httpx-client",
        action="store_true",
        help="send with httpx, as measurements before 2026-12-07 did (more client CPU)",
    )
    args = parser.parse_args()
    targets = [args.database_url] if args.database_url else args.engines.split(",")
    rows = measure_ingest(
        targets,
        [int(w) for w in args.workers.split(",")],
        [int(b) for b in args.batch_sizes.split(",")],
        events=args.events,
        small_batch_events=args.small_batch_events,
        sessions=args.sessions,
        clients=args.clients,
        lean=not args.httpx_client,
    )
    if len(rows) > 1:
        print_table(rows)
    if args.export_events:
        with tempfile.TemporaryDirectory() as tmp, _database(targets[0]) as url:
            server = ServerProcess(
                data_dir=Path(tmp), database_url=url, extra_args=["--log-level", "warning"]
            ).start()
            try:
                export_memory(server, args.export_events)
            finally:
                server.stop()


@contextmanager
def _database(target: str) -> Iterator[str | None]:
    """None for the server's default SQLite file, else a database URL (throwaway for
    "postgres", created and dropped here)."""
    if target == "sqlite":
        yield None
    elif target == "postgres":
        with database("postgres") as url:
            yield url
    else:
        yield target


if __name__ == "__main__":
    main()
