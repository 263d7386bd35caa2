"""Event payload text comes back exactly as it was sent, on both engines: a payload holding
the six visible characters backslash-u-0-0-0-0 (code, a prompt about JSON escapes) is not
mistaken for a NUL character (found by review: the NUL replacement worked on encoded text).
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.server import ServerProcess

SNIPPET = 'print("a\\u0000b")  # a NUL, written as a JSON escape'  # backslash, u, 0000


@pytest.mark.parametrize("engine", ["server", "pg_server"])
def test_a_literal_backslash_u0000_in_a_payload_is_stored_unchanged(
    engine: str, request: pytest.FixtureRequest
) -> None:
    server: ServerProcess = request.getfixturevalue(engine)
    session_id = str(uuid.uuid4())
    created = httpx.post(
        f"{server.url}/v2/create_session",
        headers={"X-Agentops-Api-Key": server.api_key},
        json={"session": {"session_id": session_id}},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    token = {"Authorization": f"Bearer {created.json()['jwt']}"}
    event = {
        "id": str(uuid.uuid4()),
        "event_type": "actions",
        "action_type": "run_code",
        "params": {"code": SNIPPET},
        "returns": SNIPPET,
        "init_timestamp": "2026-11-21T12:00:00Z",
    }
    sent = httpx.post(
        f"{server.url}/v2/create_events", headers=token, json={"events": [event]}, timeout=30
    )
    assert sent.status_code == 200, sent.text
    export = server.export(session_id)
    assert export.status_code == 200, export.text
    (stored,) = export.json()["actions"]
    assert stored["params"] == {"code": SNIPPET}, stored["params"]
    assert stored["returns"] == SNIPPET
