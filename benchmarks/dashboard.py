"""Dashboard server time at scale: the sessions list over 1,000,000 sessions and the page of a
100,000-event session (summary, waterfall density, event windows, inspector).

    .venv/bin/python benchmarks/dashboard.py [--database-url URL] [--sessions 1000000]
        [--events 100000] [--repeat 15]

Seeds through the Store (bulk inserts for the sessions, Store.append_events for the events;
a --database-url that an earlier run seeded is reused as it is),
serves the real app with uvicorn on 127.0.0.1, signs in, and times each request from an HTTP
client on loopback (so the figures include HTTP and rendering). Prints p50 / p90 / max in ms.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import uvicorn

from agentops_server.app import create_app
from agentops_server.auth.accounts import create_account
from agentops_server.config import ServerConfig
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import CostSource, EventWrite, SessionFilter, SessionWrite
from agentops_server.storage.sql_store import SqlStore, open_store
from agentops_server.storage.synthetic import SyntheticSpec, seed_sessions

EMAIL, PASSWORD = "bench@example.com", "benchmark-password"
KINDS = ("llms", "tools", "actions", "llms", "tools", "errors")


def big_session(store: SqlStore, project_id: str, count: int, start: datetime) -> str:
    """One session of `count` events over about an hour, appended in batches of 1,000."""
    session_id = str(uuid.uuid4())
    store.write_session(
        SessionWrite(id=session_id, project_id=project_id, init_timestamp=start, tags=["big"]),
        create=True,
    )
    step = timedelta(hours=1) / count
    for first in range(0, count, 1000):
        batch = []
        for i in range(first, min(first + 1000, count)):
            kind = KINDS[i % len(KINDS)]
            llm = kind == "llms"
            at = start + step * i
            batch.append(
                EventWrite(
                    id=str(uuid.uuid4()),
                    session_id=session_id,
                    event_type=kind,
                    init_timestamp=at,
                    end_timestamp=at + step * 3,
                    agent_id=None,
                    name="gpt-4o-mini" if llm else f"{kind}-{i % 7}",
                    model="gpt-4o-mini" if llm else None,
                    provider="openai" if llm else None,
                    prompt_tokens=900 if llm else None,
                    completion_tokens=120 if llm else None,
                    cache_read_tokens=None,
                    cache_write_tokens=None,
                    reasoning_tokens=None,
                    cost_nanos=207_000 if llm else None,
                    cost_source=CostSource.COMPUTED if llm else CostSource.NONE,
                    payload={
                        "prompt": [{"role": "user", "content": f"step {i}: " + "context " * 60}],
                        "completion": {"role": "assistant", "content": "ok " * 30},
                        "params": {"temperature": 0.2},
                    },
                )
            )
        store.append_events(batch)
    end = start + timedelta(hours=1, seconds=5)
    write = SessionWrite(
        id=session_id, project_id=project_id, end_timestamp=end, end_state="Success"
    )
    store.write_session(write, create=False)
    return session_id


def serve(config: ServerConfig, store: SqlStore) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, store), host="127.0.0.1", port=config.port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("server did not start")
        time.sleep(0.05)
    return server, thread


def timed(repeat: int, call: Callable[[], httpx.Response]) -> tuple[list[float], int]:
    call()  # warm-up (first-use caches, template compilation)
    samples, size = [], 0
    for _ in range(repeat):
        begin = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - begin) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{response.request.url} -> {response.status_code}: {response.text}")
        size = len(response.content)
    return samples, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="agentops-bench-"))
    url = args.database_url or f"sqlite:///{data_dir / 'agentops.sqlite3'}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = ServerConfig.build(database_url=url, data_dir=data_dir, port=port, environ={})
    upgrade(url)
    store = open_store(url)
    existing = [p for p in store.list_projects() if p.name == "Bench"]
    if existing:  # a database seeded by an earlier run (--database-url): measure it again
        project = existing[0]
        tagged = store.list_sessions(project.id, SessionFilter(tag="big"), None, 1).sessions
        big = tagged[0].id
        print(f"  reusing the seeded database ({big})")
    else:
        project = store.create_project("Bench")
        create_account(store, EMAIL, PASSWORD)
        began = time.perf_counter()
        start = datetime.now(UTC) - timedelta(days=365)  # a year of sessions, up to now
        for done in seed_sessions(store, project.id, SyntheticSpec(args.sessions, start)):
            if done % 100_000 == 0 or done == args.sessions:
                elapsed = time.perf_counter() - began
                print(f"  seeded {done:,} sessions ({elapsed:.0f} s)", flush=True)
        began = time.perf_counter()
        big = big_session(store, project.id, args.events, datetime.now(UTC) - timedelta(hours=2))
        print(f"  seeded a {args.events:,}-event session ({time.perf_counter() - began:.0f} s)")

    server, thread = serve(config, store)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    signed = client.post(
        "/login", data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD}
    )
    assert signed.status_code == 303, signed.text

    base = f"/projects/{project.id}"
    deep = f"{base}/sessions?format=json"
    for _ in range(20):  # 20 pages in: keyset pages cost the same at any depth
        cursor = client.get(deep).json()["next_cursor"]
        deep = f"{base}/sessions?format=json&cursor={cursor}"
    detail = client.get(f"{base}/sessions/{big}?format=json").json()["data"]
    window = f"start_ms={detail['timeline']['start_ms']}&end_ms={detail['timeline']['end_ms']}"
    first_ms = detail["timeline"]["start_ms"]
    zoomed = f"start_ms={first_ms}&end_ms={first_ms + 30_000}"
    event_id = detail["events"]["events"][0]["id"]
    cases = [
        ("sessions list, newest, page 1 (HTML)", f"{base}/sessions"),
        ("sessions list, newest, page 21 (JSON)", deep),
        ("sessions list, sorted by cost (HTML)", f"{base}/sessions?sort=cost"),
        ("sessions list, sorted by duration (HTML)", f"{base}/sessions?sort=duration"),
        ("sessions list, oldest first (HTML)", f"{base}/sessions?sort=oldest"),
        ("sessions list, end state Fail (HTML)", f"{base}/sessions?end_state=Fail"),
        ("sessions list, common tag (HTML)", f"{base}/sessions?tag=user-7"),
        ("sessions list, rare tag (1 in 10k) (HTML)", f"{base}/sessions?tag=rare"),
        ("sessions list, cost sort + Fail (HTML)", f"{base}/sessions?sort=cost&end_state=Fail"),
        ("sessions list, last 7 days (HTML)", f"{base}/sessions?days=7"),
        ("sessions list, text search, common (HTML)", f"{base}/sessions?q=timeout"),
        ("sessions list, text search, no match (HTML)", f"{base}/sessions?q=zz-nothing"),
        ("overview, last 30 days (HTML)", f"{base}?days=30"),
        (f"session page, {args.events:,} events (HTML)", f"{base}/sessions/{big}"),
        ("waterfall density, whole session (JSON)", f"{base}/sessions/{big}/timeline?{window}"),
        (
            "waterfall events, 30 s window (JSON)",
            f"{base}/sessions/{big}/events?{zoomed}&limit=1500",
        ),
        ("event list, first 200 (JSON)", f"{base}/sessions/{big}/events?{window}&limit=200"),
        ("inspector, one event (JSON)", f"{base}/sessions/{big}/events/{event_id}"),
    ]
    print(
        f"\n{args.sessions:,} sessions, {args.events:,}-event session, "
        f"{store.dialect}, {args.repeat} runs each (ms, client-side on loopback)"
    )
    print(f"{'request':<48} {'p50':>8} {'p90':>8} {'max':>8} {'bytes':>9}")
    for label, path in cases:
        samples, size = timed(args.repeat, partial(client.get, path))
        p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else samples[0]
        print(
            f"{label:<48} {statistics.median(samples):8.1f} {p90:8.1f} "
            f"{max(samples):8.1f} {size:9,}",
            flush=True,
        )
    client.close()
    server.should_exit = True
    thread.join(30)
    store.close()
    if args.database_url is None:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
