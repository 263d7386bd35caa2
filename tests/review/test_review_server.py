"""Adversarial review: server defects found by hostile input (each xfail documents one bug).

Every test here runs a real `agentops serve` and sends what a careless or hostile client could.
A test marked xfail(strict=True) reproduces a confirmed bug; when the bug is fixed it will
XPASS and fail the run, so remove the mark then.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess


def _session(server: ServerProcess) -> tuple[str, dict[str, str]]:
    session_id = str(uuid.uuid4())
    res = httpx.post(
        f"{server.url}/v2/create_session",
        headers={"X-Agentops-Api-Key": server.api_key},
        json={"session": {"session_id": session_id}},
        timeout=30,
    )
    assert res.status_code == 200, res.text
    return session_id, {"Authorization": f"Bearer {res.json()['jwt']}"}


def _llm(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "event_type": "llms",
        "model": "gpt-4o-mini",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "init_timestamp": "2026-11-21T12:00:00Z",
    }
    event.update(fields)
    return event


def _post_events(server: ServerProcess, token: dict[str, str], events: list[Any]) -> httpx.Response:
    # a fresh connection per request: after a 500 uvicorn drops the keep-alive connection
    return httpx.post(
        f"{server.url}/v2/create_events", headers=token, json={"events": events}, timeout=60
    )


def test_same_batch_sent_concurrently_counts_once_and_totals_match_export(
    server: ServerProcess,
) -> None:
    """Held up: 8 concurrent copies of one batch store it once; stats == sum of export."""
    from decimal import Decimal

    session_id, token = _session(server)
    models = ["gpt-4o-mini", "gpt-4o", "unknown-model-x"]
    batch = [
        _llm(model=models[i % 3], prompt_tokens=1000 + i, completion_tokens=7 * i)
        for i in range(90)
    ]
    answers: list[int] = []

    def send() -> None:
        answers.append(_post_events(server, token, batch).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [200] * 8
    stats = server.stats(session_id).json()
    export = server.export(session_id).json()
    assert stats["events"] == 90 == len(export["llms"])
    priced = [Decimal(e["cost"]) for e in export["llms"] if e["cost"] is not None]
    assert sum(priced) == Decimal(stats["cost"])
    assert stats["unknown_cost_events"] == 30


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"",
        b'{"events": "x"}',
        b'{"events": ["x"]}',
        b'{"events": [{"id": "a", "event_type": "llms", "prompt_tokens": "10"}]}',
        b'{"events": [{"id": "a", "event_type": "actions", "params": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}]}",
        b'{"events": [{"id": "\xff"}]}',
    ],
)
def test_malformed_bodies_get_a_json_4xx(server: ServerProcess, raw: bytes) -> None:
    """Held up: malformed, mistyped, deeply nested and non-UTF-8 bodies are a clear 4xx."""
    _, token = _session(server)
    res = httpx.post(
        f"{server.url}/v2/create_events",
        headers={**token, "Content-Type": "application/json"},
        content=raw,
        timeout=30,
    )
    assert 400 <= res.status_code < 500
    assert res.json()["error"]["message"]
