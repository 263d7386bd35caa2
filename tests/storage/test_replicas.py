"""Two server processes on one database, hammered on ONE session with concurrent, partly
duplicated batches: every event is counted exactly once (PostgreSQL replicas; SQLite too,
where the processes share the file)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess

THREADS_PER_SERVER = 4
BATCHES = 8
SHARED = 20  # ids every thread sends in every batch round: stored once
OWN = 30  # ids only this thread sends
TYPES = ["llms", "tools", "actions", "errors", "llms"]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def wire_event(event_id: str, n: int) -> dict[str, Any]:
    kind = TYPES[n % len(TYPES)]
    body: dict[str, Any] = {
        "id": event_id,
        "event_type": kind,
        "init_timestamp": (T0 + timedelta(milliseconds=n)).isoformat(),
        "end_timestamp": (T0 + timedelta(milliseconds=n + 5)).isoformat(),
    }
    if kind == "llms":
        body |= {"model": "gpt-4o-mini", "prompt": "hi", "completion": "hello",
                 "prompt_tokens": 7, "completion_tokens": 3}  # fmt: skip
    elif kind == "tools":
        body["name"] = "search"
    elif kind == "actions":
        body["action_type"] = "step"
    else:
        body["error_type"] = "ValueError"
    return body


def batches_for(worker: int) -> list[list[tuple[str, int]]]:
    out = []
    for b in range(BATCHES):
        shared = [(f"shared-{b}-{i}", b * 1000 + i) for i in range(SHARED)]
        own = [(f"w{worker}-{b}-{i}", 500_000 + worker * 10_000 + b * 100 + i) for i in range(OWN)]
        out.append(shared + own)
    return out


def attach(server: ServerProcess, session_id: str) -> str:
    """create_session: the first creates, every later call re-attaches (inherited session)."""
    response = httpx.post(
        f"{server.url}/v2/create_session",
        headers={"X-Agentops-Api-Key": server.api_key},
        json={"session": {"session_id": session_id, "init_timestamp": T0.isoformat(),
                          "tags": ["hammer"]}},
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return str(response.json()["jwt"])


@pytest.mark.slow
def test_two_servers_one_database_count_each_event_once(tmp_path: Path, database_url: str) -> None:
    first = ServerProcess(data_dir=tmp_path / "one", database_url=database_url).start()
    second: ServerProcess | None = None
    try:
        second = ServerProcess(
            data_dir=tmp_path / "two", database_url=database_url,
            api_key=first.api_key, project_id=first.project_id,
        ).start()  # fmt: skip
        servers = [first, second]
        session_id = str(uuid.uuid4())
        attach(first, session_id)
        errors: list[str] = []

        def hammer(worker: int) -> None:
            server = servers[worker % 2]
            token = attach(server, session_id)
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for batch in batches_for(worker):
                    body = {"events": [wire_event(e, n) for e, n in batch]}
                    r = client.post("/v2/create_events", json=body,
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text}")

        workers = 2 * THREADS_PER_SERVER
        threads = [threading.Thread(target=hammer, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert errors == []

        expected: dict[str, int] = {}
        for w in range(workers):
            for batch in batches_for(w):
                for event_id, n in batch:
                    expected[event_id] = n
        kinds = [TYPES[n % len(TYPES)] for n in expected.values()]
        llms = kinds.count("llms")
        for server in servers:  # both replicas read the same exact numbers
            stats = server.stats(session_id).json()
            assert stats["events"] == len(expected) == BATCHES * (SHARED + workers * OWN)
            assert stats["event_counts"] == {k: kinds.count(k) for k in
                                             ("llms", "tools", "actions", "errors")}  # fmt: skip
            assert (stats["prompt_tokens"], stats["completion_tokens"]) == (7 * llms, 3 * llms)
        exported = first.export(session_id).json()
        assert len(exported["llms"]) == llms
        assert {e["id"] for e in exported["tools"]} == {
            e for e, n in expected.items() if TYPES[n % len(TYPES)] == "tools"
        }
    finally:
        if second is not None:
            second.stop()
        first.stop()
