"""SIGTERM while clients are sending: every acknowledged event is stored."""

from __future__ import annotations

import threading
import time
import uuid

import httpx

from agentops_server.storage.sql_store import open_store
from tests.server.conftest import action
from tests.support.server import ServerProcess


def test_sigterm_drains_every_acknowledged_event(server: ServerProcess) -> None:
    res = httpx.post(
        f"{server.url}/v2/create_session",
        json={"session": {"session_id": str(uuid.uuid4())}},
        headers={"X-Agentops-Api-Key": server.api_key},
    )
    session_id = res.json()["session_id"]
    headers = {"Authorization": f"Bearer {res.json()['jwt']}"}
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                batch = [action() for _ in range(200)]
                try:
                    res = client.post(
                        f"{server.url}/v2/create_events", json={"events": batch}, headers=headers
                    )
                except httpx.TransportError:
                    return
                if res.status_code == 200:
                    with lock:
                        acknowledged.extend(e["id"] for e in batch)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 2000 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.stop()  # SIGTERM while batches are in flight
    stop.set()
    for t in threads:
        t.join(60)
    assert len(acknowledged) >= 2000
    assert "Application shutdown complete" in server.log()

    url = f"sqlite:///{server.data_dir / 'agentops.sqlite3'}"
    store = open_store(url)
    try:
        stored = {e.id for e in store.iter_events(session_id)}
        assert set(acknowledged) <= stored
        stats = store.get_session(server.project_id, session_id).stats
        assert stats.events == len(stored)
    finally:
        store.close()


def test_session_tokens_survive_a_server_restart(server: ServerProcess) -> None:
    """The secret lives in the data dir: a running agent keeps working across a restart."""
    res = httpx.post(
        f"{server.url}/v2/create_session",
        json={"session": {"session_id": str(uuid.uuid4())}},
        headers={"X-Agentops-Api-Key": server.api_key},
    )
    session_id, jwt = res.json()["session_id"], res.json()["jwt"]
    server.stop()
    server.start()
    headers = {"Authorization": f"Bearer {jwt}", "X-Agentops-Api-Key": server.api_key}
    res = httpx.post(f"{server.url}/v2/create_events", json={"events": [action()]}, headers=headers)
    assert res.status_code == 200
    assert server.stats(session_id).json()["events"] == 1
