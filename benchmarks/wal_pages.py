"""Where a commit's writes go on SQLite: the pages each append transaction writes to the WAL,
per table and index, through the server's own store and schema.

    .venv/bin/python benchmarks/wal_pages.py [--batch 25] [--requests-per-commit 1]
                                             [--sessions 20] [--commits 300] [--warm 2000]

Appends typical events (an LLM call, two actions and a tool per four events, with random ids
as agentops 0.3 makes them) to --sessions sessions in turn: --warm transactions first, so that
every session already spans many index pages, then --commits more whose WAL frames are read
back and named by table or index (SQLite's dbstat). A commit writes each page it changed in
full (4 KiB), whatever share of the page changed: this is the disk work behind the CPU that
`benchmarks/ingest.py` measures, and its per-page cost is why small transactions cost more per
event than big ones. The background checkpointer is stopped so that the frames stay in the WAL.
"""

from __future__ import annotations

import argparse
import collections
import sqlite3
import struct
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agentops_server.ingest.v2 import event_writes
from agentops_server.pricing import Pricer
from agentops_server.storage.engine import create_engines
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.sql_store import SqlStore
from benchmarks.ingest import events_for

WAL_HEADER = 32
FRAME_HEADER = 24


def commits_in_wal(path: Path) -> list[list[int]]:
    """The page numbers of each committed transaction in a WAL file, oldest first (frames of
    an earlier generation of the file, whose salts differ, end the list)."""
    data = path.read_bytes()
    if len(data) < WAL_HEADER:
        return []
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    commits: list[list[int]] = []
    pages: list[int] = []
    offset = WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        page, size_after_commit = struct.unpack(">II", data[offset : offset + 8])
        if data[offset + 8 : offset + 16] != salts:
            break
        pages.append(page)
        if size_after_commit:
            commits.append(pages)
            pages = []
        offset += FRAME_HEADER + page_size
    return commits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=25, help="events per request")
    parser.add_argument("--requests-per-commit", type=int, default=1)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument(
        "--commits",
        type=int,
        default=200,
        help="transactions measured (the WAL holds about 16,000 pages before the writer's own "
        "checkpoint starts it over: only the commits after that are read)",
    )
    parser.add_argument("--warm", type=int, default=2000, help="transactions before measuring")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agentops.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        engines = create_engines(url)
        store = SqlStore(engines)
        project_id = store.create_project("bench").id
        sessions = [str(uuid.uuid4()) for _ in range(args.sessions)]
        for session_id in sessions:
            store.write_session(SessionWrite(id=session_id, project_id=project_id), create=True)
        pricer = Pricer(store)
        now = datetime.now(UTC)
        requests = 0

        def commit() -> None:
            nonlocal requests
            batches = []
            for _ in range(args.requests_per_commit):
                raw = events_for(args.batch, requests * args.batch)
                session_id = sessions[requests % len(sessions)]
                batches.append(
                    event_writes(
                        raw, session_id=session_id, project_id=project_id, pricer=pricer, now=now
                    )
                )
                requests += 1
            store.append_event_batches(batches)

        started = time.perf_counter()
        for done in range(args.warm):
            commit()
            if done % 500 == 499:
                print(f"  warming up: {done + 1:,} of {args.warm:,} transactions", flush=True)
        assert engines.checkpointer is not None
        engines.checkpointer.close()
        with sqlite3.connect(path) as conn:  # start measuring on an empty WAL
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for _ in range(args.commits):
            commit()
        commits = commits_in_wal(path.with_name(path.name + "-wal"))
        with sqlite3.connect(path) as conn:
            names = dict(conn.execute("SELECT pageno, name FROM dbstat"))
        store.close()
    events = args.batch * args.requests_per_commit
    print(
        f"{len(commits)} commits of {args.requests_per_commit} request(s) of {args.batch} events "
        f"over {args.sessions} sessions read from the WAL, after {args.warm:,} others "
        f"({time.perf_counter() - started:.0f} s)"
    )
    if len(commits) < args.commits:
        print(f"  (the last {len(commits)} of {args.commits}: the WAL was started over)")
    if not commits:
        return
    pages = sum(map(len, commits))
    print(
        f"pages written per commit: {pages / len(commits):.1f} "
        f"({pages / len(commits) / events:.2f} per event)"
    )
    by_name = collections.Counter(names.get(p, "(other)") for c in commits for p in c)
    print("\n| table or index | pages per commit | share |\n|---|---|---|")
    for name, count in by_name.most_common():
        print(f"| {name} | {count / len(commits):.1f} | {count / pages:.0%} |")


if __name__ == "__main__":
    main()
