"""Dashboard server time at scale: the sessions list over 1,000,000 sessions and the page of a
100,000-event session (summary, event tree, waterfall density, event windows, inspector), plus
the event tree of two more 100,000-event sessions: nested (agents > steps > calls, with
orphans) and wide (one span holding every other event).

    .venv/bin/python benchmarks/dashboard.py [--database-url URL] [--sessions 1000000]
        [--events 100000] [--repeat 15]

Seeds through the Store (bulk inserts for the sessions, Store.append_events for the events;
a --database-url that an earlier run seeded is reused as it is), refreshes the planner's
statistics (ANALYZE, what autovacuum does soon after a bulk load), serves the real app with
uvicorn on 127.0.0.1, signs in, and times each request from an HTTP client on loopback (so the
figures include HTTP and rendering). Prints p50 / p90 / max in ms.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import socket
import statistics
import sys
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import search_seed

EMAIL, PASSWORD = "bench@example.com", "benchmark-password"
KINDS = ("llms", "tools", "actions", "llms", "tools", "errors")


def _event(
    session_id: str, i: int, at: datetime, length: timedelta, kind: str, parent_id: str | None
) -> EventWrite:
    llm = kind == "llms"
    return EventWrite(
        id=str(uuid.uuid4()),
        session_id=session_id,
        event_type=kind,
        init_timestamp=at,
        end_timestamp=at + length,
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
        parent_id=parent_id,
    )


def _session(store: SqlStore, project_id: str, start: datetime, tag: str) -> str:
    session_id = str(uuid.uuid4())
    store.write_session(
        SessionWrite(id=session_id, project_id=project_id, init_timestamp=start, tags=[tag]),
        create=True,
    )
    return session_id


def _end(store: SqlStore, project_id: str, session_id: str, start: datetime) -> None:
    end = start + timedelta(hours=1, seconds=5)
    write = SessionWrite(
        id=session_id, project_id=project_id, end_timestamp=end, end_state="Success"
    )
    store.write_session(write, create=False)


def big_session(store: SqlStore, project_id: str, count: int, start: datetime) -> str:
    """One session of `count` events over about an hour, appended in batches of 1,000: what a
    v2 client sends (no parent ids, so its tree is one flat level)."""
    session_id = _session(store, project_id, start, "big")
    step = timedelta(hours=1) / count
    for first in range(0, count, 1000):
        batch = [
            _event(session_id, i, start + step * i, step * 3, KINDS[i % len(KINDS)], None)
            for i in range(first, min(first + 1000, count))
        ]
        store.append_events(batch)
    _end(store, project_id, session_id, start)
    return session_id


AGENTS, TASKS, ORPHANS = 10, 99, 10


def nested_session(store: SqlStore, project_id: str, count: int, start: datetime) -> str:
    """One session of `count` events nested as agent frameworks record them over an hour:
    10 agent runs (one after the other), each of 99 steps, each holding an equal share of the
    LLM and tool calls; 10 of those calls name a parent that never arrived (orphans)."""
    session_id = _session(store, project_id, start, "nested")
    leaves = max(1, (count - AGENTS - AGENTS * TASKS) // (AGENTS * TASKS))
    orphan_every = max(1, AGENTS * TASKS * leaves // ORPHANS)
    agent_length, batch, i = timedelta(hours=1) / AGENTS, [], 0
    task_length = agent_length / TASKS
    for a in range(AGENTS):
        agent_at = start + agent_length * a
        agent = _event(session_id, i, agent_at, agent_length, "actions", None)
        batch.append(agent)
        for t in range(TASKS):
            task_at = agent_at + task_length * t
            task = _event(session_id, i, task_at, task_length, "tools", agent.id)
            batch.append(task)
            for n in range(leaves):
                i += 1
                lost = i % orphan_every == 0
                parent = f"lost-span-{i}" if lost else task.id
                at = task_at + task_length * n / leaves
                batch.append(_event(session_id, i, at, task_length / leaves, KINDS[i % 6], parent))
            if len(batch) >= 1000:
                store.append_events(batch)
                batch = []
    store.append_events(batch)
    _end(store, project_id, session_id, start)
    return session_id


def wide_session(store: SqlStore, project_id: str, count: int, start: datetime) -> str:
    """One session whose single agent span holds the other `count` - 1 events, its LLM and
    tool calls: the widest level a tree can have."""
    session_id = _session(store, project_id, start, "wide")
    agent = _event(session_id, 0, start, timedelta(hours=1), "actions", None)
    store.append_events([agent])
    step = timedelta(hours=1) / count
    for first in range(1, count, 1000):
        batch = [
            _event(session_id, i, start + step * i, step, KINDS[i % 6], agent.id)
            for i in range(first, min(first + 1000, count))
        ]
        store.append_events(batch)
    _end(store, project_id, session_id, start)
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
    parser.add_argument(
        "--part",
        choices=("all", "lists", "search"),
        default="all",
        help="lists: the 1,000,000-session lists and big sessions; search: finding sessions "
        "among --search-events events (filters and full-text search)",
    )
    parser.add_argument("--search-events", type=int, default=1_000_000)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="agentops-bench-"))
    url = args.database_url or f"sqlite:///{data_dir / 'agentops.sqlite3'}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = ServerConfig.build(database_url=url, data_dir=data_dir, port=port, environ={})
    upgrade(url)
    store = open_store(url)
    if args.part == "search":
        search_part(args, config, store, url)
        return
    existing = [p for p in store.list_projects() if p.name == "Bench"]
    seeded_at = datetime.now(UTC) - timedelta(hours=2)
    if existing:  # a database seeded by an earlier run (--database-url): measure it again
        project = existing[0]
        tagged = store.list_sessions(project.id, SessionFilter(tags=("big",)), None, 1).sessions
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
        big = big_session(store, project.id, args.events, seeded_at)
        print(f"  seeded a {args.events:,}-event session ({time.perf_counter() - began:.0f} s)")
    trees = {}
    for tag, seed in (("nested", nested_session), ("wide", wide_session)):
        found = store.list_sessions(project.id, SessionFilter(tags=(tag,)), None, 1).sessions
        if found:
            trees[tag] = found[0].id
        else:
            began = time.perf_counter()
            trees[tag] = seed(store, project.id, args.events, seeded_at)
            print(f"  seeded a {tag} session ({time.perf_counter() - began:.0f} s)")
            store.analyze()
    nested, wide = trees["nested"], trees["wide"]

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
    event_id = detail["tree"]["data"][0]["id"]
    middle = f"from_ms={(detail['timeline']['start_ms'] + detail['timeline']['end_ms']) // 2}"
    page_2 = f"cursor={detail['tree']['next_cursor']}"
    half = (detail["timeline"]["start_ms"] + detail["timeline"]["end_ms"]) // 2
    after_middle = f"start_ms={half}&end_ms={detail['timeline']['end_ms']}"
    tree = f"{base}/sessions/{nested}/tree"
    top = client.get(tree).json()
    agent = top["data"][0]
    task = client.get(f"{tree}?parent_id={agent['id']}").json()["data"][0]
    inside_agent = f"parent_id={agent['id']}&from_ms={(agent['start_ms'] + agent['end_ms']) // 2}"
    orphans = sum(node["orphan"] for node in top["data"])
    print(f"  nested session: {len(top['data'])} nodes at the top level ({orphans} orphans)")
    wide_tree = f"{base}/sessions/{wide}/tree"
    [root] = client.get(wide_tree).json()["data"]
    wide_page = client.get(f"{wide_tree}?parent_id={root['id']}").json()
    wide_middle = f"parent_id={root['id']}&from_ms={(root['start_ms'] + root['end_ms']) // 2}"
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
        ("event filter, type errors (JSON)",
         f"{base}/sessions/{big}/events?{window}&type=errors&limit=200"),
        ("event filter, name part tools-3 (JSON)",
         f"{base}/sessions/{big}/events?{window}&name=tools-3&limit=200"),
        ("event filter, name matching nothing (JSON)",
         f"{base}/sessions/{big}/events?{window}&name=zz-none&limit=200"),
        ("next error, from the middle (JSON)",
         f"{base}/sessions/{big}/events?{after_middle}&type=errors&limit=50"),
        ("group by agent, 2,000 events of the view (JSON)",
         f"{base}/sessions/{big}/events?{window}&limit=2000&running=true"),
        ("tree, flat session, top level page 2 (JSON)", f"{base}/sessions/{big}/tree?{page_2}"),
        ("tree, flat session, from its middle (JSON)", f"{base}/sessions/{big}/tree?{middle}"),
        ("session page, nested session (HTML)", f"{base}/sessions/{nested}"),
        ("tree, nested session, top level (JSON)", tree),
        (f"tree, expand an agent ({agent['child_count']} children) (JSON)",
         f"{tree}?parent_id={agent['id']}"),
        (f"tree, expand a step ({task['child_count']} children) (JSON)",
         f"{tree}?parent_id={task['id']}"),
        ("tree, an agent's children from its middle (JSON)", f"{tree}?{inside_agent}"),
        ("tree, wide session, top level (JSON)", wide_tree),
        ("tree, wide session, expand its span (JSON)", f"{wide_tree}?parent_id={root['id']}"),
        ("tree, wide session, its children page 2 (JSON)",
         f"{wide_tree}?parent_id={root['id']}&cursor={wide_page['next_cursor']}"),
        ("tree, wide session, its children from the middle (JSON)", f"{wide_tree}?{wide_middle}"),
    ]  # fmt: skip
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
    if args.part == "all":
        search_part(args, config, store, url)
    store.close()
    if args.database_url is None:
        shutil.rmtree(data_dir, ignore_errors=True)


def search_part(args: argparse.Namespace, config: ServerConfig, store: SqlStore, url: str) -> None:
    """Finding sessions among --search-events events: every filter and full-text search,
    through the sessions list's JSON twin (newest first, 50 a page, unless said)."""
    existing = [p for p in store.list_projects() if p.name == "Bench search"]
    if existing:
        project = existing[0]
        print("  reusing the seeded search project")
    else:
        project = store.create_project("Bench search")
        if store.find_user(EMAIL) is None:
            create_account(store, EMAIL, PASSWORD)
        per_session = 100
        began = time.perf_counter()
        sessions = max(1, args.search_events // per_session)
        start = datetime.now(UTC) - timedelta(minutes=sessions + 60)  # one a minute, up to now
        for done in search_seed.seed(store, project.id, start, sessions, per_session):
            if done % 100_000 == 0:
                print(f"  seeded {done:,} events ({time.perf_counter() - began:.0f} s)", flush=True)
        store.analyze()
    server, thread = serve(config, store)
    client = httpx.Client(base_url=f"http://127.0.0.1:{config.port}", timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    signed = client.post(
        "/login", data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD}
    )
    assert signed.status_code == 303, signed.text
    base = f"/projects/{project.id}/sessions?format=json"
    common = search_seed.vocabulary(random.Random(13))[7]
    cases = [
        ("no filter", base),
        (f"text, a common word ({common})", f"{base}&q={common}"),
        ("text, a rare word (1 session in 1,000)", f"{base}&q=zanzibar"),
        ("text, no match", f"{base}&q=nothingmatchesthis"),
        ("text, two words", f"{base}&q={common}+zanzibar"),
        ("text, a prefix (zanz)", f"{base}&q=zanz"),
        ("text, rare word, sorted by cost", f"{base}&q=zanzibar&sort=cost"),
        ("model (1 in 6)", f"{base}&model=claude-3-5-haiku"),
        ("agent (1 in 50)", f"{base}&agent=agent-7"),
        ("two tags (all must match)", f"{base}&tag=prod&tag=team-3"),
        ("cost range", f"{base}&cost_min=0.01&cost_max=0.012"),
        ("duration range", f"{base}&duration_min=100&duration_max=130"),
        ("metadata team=t4", f"{base}&meta=team%3Dt4"),
        ("tag + model + text", f"{base}&tag=prod&model=gpt-4o-mini&q={common}"),
        ("overview, last 30 days (HTML)", f"/projects/{project.id}?days=30"),
        ("overview, last day, by the hour (HTML)", f"/projects/{project.id}?days=1"),
        ("end state Fail + model, sorted by duration",
         f"{base}&end_state=Fail&model=o3-mini&sort=duration"),
    ]  # fmt: skip
    print(
        f"\nfinding sessions among {args.search_events:,} events, {store.dialect}, "
        f"{args.repeat} runs each (ms, client-side on loopback)"
    )
    print(f"{'request':<48} {'p50':>8} {'p90':>8} {'max':>8} {'rows':>6}")
    for label, path in cases:
        samples, _ = timed(args.repeat, partial(client.get, path))
        found = client.get(path + "&format=json" if "format" not in path else path).json()
        rows = len(found["data"]) if isinstance(found["data"], list) else 1
        p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else samples[0]
        print(
            f"{label:<48} {statistics.median(samples):8.1f} {p90:8.1f} "
            f"{max(samples):8.1f} {rows:6}",
            flush=True,
        )
    client.close()
    server.should_exit = True
    thread.join(30)


if __name__ == "__main__":
    main()
