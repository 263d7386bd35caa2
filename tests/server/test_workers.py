"""`agentops serve --workers 2`: several processes behind one port, hammered on ONE session with
concurrent, partly duplicated batches, give exactly the statistics of one process."""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.storage.test_replicas import BATCHES, OWN, SHARED, TYPES, attach, batches_for, wire_event
from tests.support.server import ServerProcess

CLIENTS = 8


@pytest.mark.slow
def test_workers_share_one_session_and_count_each_event_once(
    tmp_path: Path, database_url: str
) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "data", database_url=database_url, extra_args=["--workers", "2"]
    ).start()
    try:
        session_id = str(uuid.uuid4())
        attach(server, session_id)
        failures: list[str] = []

        def hammer(client_no: int) -> None:
            token = attach(server, session_id)
            for batch in batches_for(client_no):
                # a new connection per batch, so the kernel spreads them over both workers
                response = httpx.post(
                    f"{server.url}/v2/create_events",
                    json={"events": [wire_event(e, n) for e, n in batch]},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=60,
                )
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")

        threads = [threading.Thread(target=hammer, args=(c,)) for c in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert failures == []

        expected = {e: n for c in range(CLIENTS) for b in batches_for(c) for e, n in b}
        kinds = [TYPES[n % len(TYPES)] for n in expected.values()]
        stats = server.stats(session_id).json()
        assert stats["events"] == len(expected) == BATCHES * (SHARED + CLIENTS * OWN)
        assert stats["event_counts"] == {
            kind: kinds.count(kind) for kind in ("llms", "tools", "actions", "errors")
        }
        llms = kinds.count("llms")
        assert (stats["prompt_tokens"], stats["completion_tokens"]) == (7 * llms, 3 * llms)
        # two worker processes really served
        pids = set(re.findall(r"Started server process \[(\d+)\]", server.log()))
        assert len(pids) == 2, server.log()
    finally:
        server.stop()
