"""A price change reaches every server process: the other workers of `agentops serve
--workers 2`, and a running server when the CLI makes it, within OVERRIDE_TTL_SECONDS (as
docs/pricing.md says; it was 30 s, and the next events of a worker that had not taken the
change were priced the old way)."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from agentops_server.pricing.overrides import OVERRIDE_TTL_SECONDS
from tests.support.server import ServerProcess, cli

MTOK = 1_000_000


def _every_process_has_read_it() -> None:
    """The documented bound: each process reads the overrides again after that long."""
    time.sleep(OVERRIDE_TTL_SECONDS + 0.5)


def _post_llm_events(server: ServerProcess, token: str, requests: int) -> list[str]:
    """`requests` requests of one gpt-4o event each (1M prompt tokens), each on a new
    connection so the kernel spreads them over the workers; their event ids."""
    ids = []
    for _ in range(requests):
        event_id = str(uuid.uuid4())
        event = {
            "id": event_id,
            "event_type": "llms",
            "init_timestamp": "2026-11-21T12:00:00+00:00",
            "end_timestamp": "2026-11-21T12:00:01+00:00",
            "model": "gpt-4o",
            "prompt_tokens": MTOK,
            "completion_tokens": 0,
        }
        response = httpx.post(
            f"{server.url}/v2/create_events",
            json={"events": [event]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        ids.append(event_id)
    return ids


def _start_session(server: ServerProcess) -> tuple[str, str]:
    session_id = str(uuid.uuid4())
    response = httpx.post(
        f"{server.url}/v2/create_session",
        headers={"X-Agentops-Api-Key": server.api_key},
        json={"session": {"session_id": session_id, "init_timestamp": "2026-11-21T12:00:00Z"}},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return session_id, str(response.json()["jwt"])


def _costs(server: ServerProcess, session_id: str) -> dict[str, tuple[str, str]]:
    export = server.export(session_id)
    assert export.status_code == 200, export.text
    return {e["id"]: (e["cost"], e["cost_source"]) for e in export.json()["llms"]}


@pytest.mark.slow
def test_a_price_set_through_one_worker_prices_the_next_events_of_every_worker(
    tmp_path: Path, database_url: str
) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "data", database_url=database_url, extra_args=["--workers", "2"]
    ).start()
    try:
        session_id, token = _start_session(server)
        before = _post_llm_events(server, token, 20)  # both workers now hold the prices
        put = httpx.put(
            f"{server.url}/v2/prices/gpt-4o",
            headers={"X-Agentops-Api-Key": server.api_key},
            json={"input_per_mtok": 7, "output_per_mtok": 7},
            timeout=30,
        )
        assert put.status_code == 200, put.text
        _every_process_has_read_it()
        after = _post_llm_events(server, token, 30)

        costs = _costs(server, session_id)
        assert {costs[i] for i in before} == {("2.5", "computed")}
        assert [costs[i] for i in after] == [("7", "override")] * len(after)
        pids = set(re.findall(r"Started server process \[(\d+)\]", server.log()))
        assert len(pids) == 2, server.log()
    finally:
        server.stop()


def test_a_price_set_with_the_cli_prices_the_next_events_of_a_running_server(
    tmp_path: Path, database_url: str
) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", database_url=database_url).start()
    try:
        session_id, token = _start_session(server)
        before = _post_llm_events(server, token, 3)
        cli("prices", "set", "gpt-4o", "--input", "7", "--output", "7", *server.db_args(),
            "--project", server.project_id)  # fmt: skip
        _every_process_has_read_it()
        after = _post_llm_events(server, token, 3)
        cli("prices", "delete", "gpt-4o", *server.db_args(), "--project", server.project_id)
        _every_process_has_read_it()
        back = _post_llm_events(server, token, 3)

        costs = _costs(server, session_id)
        assert [costs[i] for i in before] == [("2.5", "computed")] * 3
        assert [costs[i] for i in after] == [("7", "override")] * 3
        assert [costs[i] for i in back] == [("2.5", "computed")] * 3
    finally:
        server.stop()
