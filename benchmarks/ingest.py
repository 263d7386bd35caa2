"""End-to-end ingestion speed of a real `agentops serve`: events persisted per second, measured
until the stats endpoint shows every event, for batches of 25 (the 0.3 client's size) and 500.

    .venv/bin/python benchmarks/ingest.py [--events 100000] [--sessions 20] [--clients 4]
                                          [--batch-sizes 25,500] [--database-url URL] [--workers N]
                                          [--export-events 100000]

Bodies are built before the clock starts (typical 0.3.26 events: 1 LLM call, 2 actions,
1 tool call per 4 events, with prompts and completions). Reports events/s, request latency and
the server's peak RSS (VmHWM). --export-events also streams a session of that many events and
reports the server's RSS before and after (a streamed export keeps memory flat).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
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
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def run(server: ServerProcess, total: int, batch: int, n_sessions: int, clients: int) -> None:
    sessions = open_sessions(server, n_sessions)
    bodies: list[tuple[str, bytes]] = []
    for start in range(0, total, batch):
        _, jwt = sessions[(start // batch) % n_sessions]
        body = json.dumps({"events": events_for(min(batch, total - start), start)}).encode()
        bodies.append((jwt, body))
    latencies: list[float] = []
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))

    def client() -> None:
        with httpx.Client(timeout=60) as http:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                jwt, body = bodies[index]
                t = time.perf_counter()
                res = http.post(
                    f"{server.url}/v2/create_events",
                    content=body,
                    headers={"Authorization": f"Bearer {jwt}", "Content-Type": "application/json"},
                )
                res.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - t)

    assert server.proc is not None
    cpu0 = cpu_seconds(server.proc.pid)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen = 0
    while seen < total:  # persisted = visible through the stats endpoint
        seen = sum(server.stats(sid).json()["events"] for sid, _ in sessions)
    elapsed = time.perf_counter() - t0
    cpu = cpu_seconds(server.proc.pid) - cpu0
    latencies.sort()
    print(
        f"batches of {batch:>3}: {total:,} events in {elapsed:.2f} s = {total / elapsed:,.0f} "
        f"events/s persisted ({len(bodies)} requests, {clients} clients; latency p50 "
        f"{statistics.median(latencies) * 1000:.1f} ms, p90 "
        f"{latencies[int(len(latencies) * 0.9)] * 1000:.1f} ms); server peak RSS "
        f"{rss_kib(server.proc.pid, 'VmHWM') / 1024:.0f} MiB; server CPU "
        f"{cpu / total * 1e6:.0f} us/event",
        flush=True,
    )


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch-sizes", default="25,500")
    parser.add_argument("--database-url")
    parser.add_argument("--export-events", type=int, default=0)
    parser.add_argument(
        "--workers", type=int, default=1, help="serve --workers N (RSS and CPU: first process only)"
    )
    args = parser.parse_args()
    serve_args = ["--log-level", "warning", "--workers", str(args.workers)]
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            server = ServerProcess(
                data_dir=Path(tmp), database_url=args.database_url, extra_args=serve_args
            ).start()
            try:
                total = args.events if batch >= 100 else min(args.events, 25_000)
                run(server, total, batch, args.sessions, args.clients)
            finally:
                server.stop()
    if args.export_events:
        with tempfile.TemporaryDirectory() as tmp:
            server = ServerProcess(
                data_dir=Path(tmp), database_url=args.database_url,
                extra_args=["--log-level", "warning"],
            ).start()  # fmt: skip
            try:
                export_memory(server, args.export_events)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
