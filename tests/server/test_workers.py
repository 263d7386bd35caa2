"""`agentops serve --workers 2`: several processes behind one port, hammered on ONE session with
concurrent, partly duplicated batches, give exactly the statistics of one process."""

from __future__ import annotations

import re
import threading
import uuid
from decimal import Decimal
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


@pytest.mark.slow
def test_workers_store_each_otlp_span_once_however_often_it_is_sent(
    tmp_path: Path, database_url: str
) -> None:
    """Exporters retry: the same spans of one trace, sent concurrently and repeatedly to two
    worker processes, give exactly one event each and exact statistics."""
    from tests.support.otlp import (
        agentops_llm_span,
        agentops_session_span,
        agentops_tool_span,
        new_trace_id,
        session_of,
        trace_request,
    )

    server = ServerProcess(
        data_dir=tmp_path / "data", database_url=database_url, extra_args=["--workers", "2"]
    ).start()
    try:
        trace_id = new_trace_id()
        root = agentops_session_span(trace_id)
        spans = [agentops_llm_span(trace_id, root.span_id, start_ms=i) for i in range(40)]
        spans += [agentops_tool_span(trace_id, root.span_id, cost=0.5) for _ in range(10)]
        batches = [spans[i : i + 7] for i in range(0, len(spans), 7)] + [[root]]
        bodies = [trace_request(batch).SerializeToString() for batch in batches]
        failures: list[str] = []

        def exporter(offset: int) -> None:
            for i in range(len(bodies)):
                response = httpx.post(
                    f"{server.url}/v1/traces",
                    content=bodies[(i + offset) % len(bodies)],
                    headers={
                        "Content-Type": "application/x-protobuf",
                        "X-Agentops-Api-Key": server.api_key,
                    },
                    timeout=60,
                )
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")

        threads = [threading.Thread(target=exporter, args=(c,)) for c in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert failures == []
        stats = server.stats(session_of(trace_id)).json()
        assert stats["event_counts"] == {"llms": 40, "tools": 10, "actions": 0, "errors": 0}
        assert (stats["prompt_tokens"], stats["completion_tokens"]) == (40 * 21, 40 * 7)
        llm_cost = Decimal("0.00000315") + Decimal("0.0000042")  # gpt-4o-mini, 21 in, 7 out
        assert Decimal(stats["cost"]) == 40 * llm_cost + 10 * Decimal("0.5")
        assert stats["end_state"] == "Success"
        pids = set(re.findall(r"Started server process \[(\d+)\]", server.log()))
        assert len(pids) == 2, server.log()
    finally:
        server.stop()
