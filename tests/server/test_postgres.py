"""The ingest and export round trip on PostgreSQL (the scale-out engine)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from tests.server.conftest import LiveServer, action, error, llm, tool

pytestmark = pytest.mark.postgres


def test_round_trip_idempotency_and_concurrency_on_postgres(pg_live: LiveServer) -> None:
    live = pg_live
    session_id, jwt = live.start_session(tags=["pg"])
    batch = [action(), tool(), llm(), error(), llm(event_type="apis", model=None)]
    assert live.send_events(jwt, batch).json()["inserted"] == 5
    assert live.send_events(jwt, batch).json() == {
        "status": "success",
        "inserted": 0,
        "duplicates": 5,
    }

    def sender() -> None:
        for _ in range(5):
            assert live.send_events(jwt, [action() for _ in range(20)]).status_code == 200

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    end = {"session": {"end_state": "Success", "is_running": False, "tags": ["pg", "done"]}}
    res = live.post("/v2/update_session", end, headers=live.auth(jwt))
    assert res.status_code == 200 and Decimal(res.json()["token_cost"]) > 0
    stats = live.stats(session_id)
    assert stats["events"] == 5 + 4 * 5 * 20
    assert stats["event_counts"] == {"llms": 1, "tools": 1, "actions": 402, "errors": 1}
    export = live.get(f"/v2/sessions/{session_id}/export").json()
    assert export["session"]["tags"] == ["pg", "done"]
    assert len(export["actions"]) == 402 and export["llms"][0]["prompt"]["type"] == "chatml"
    page = live.get("/v2/sessions", params={"tag": "done"}).json()
    assert [s["id"] for s in page["data"]] == [session_id]


def test_nan_and_nul_never_reach_postgres_jsonb(pg_live: LiveServer) -> None:
    live = pg_live
    session_id, jwt = live.start_session()
    raw = (
        '{"events": [{"id": "n1", "event_type": "actions", "params": {"x": NaN, "s": "a\\u0000b",'
        ' "lone": "\\ud800"}, "init_timestamp": "2026-11-21T12:36:31Z"}]}'
    )
    res = live.post(
        "/v2/create_events",
        content=raw.encode(),
        headers={**live.auth(jwt), "Content-Type": "application/json"},
    )
    assert res.status_code == 200, res.text
    params = live.store.get_event(session_id, "n1").payload["params"]
    assert params["x"] is None and params["s"] == "ab" and params["lone"] == "?"


def test_a_batch_repeating_some_stored_ids_stores_only_the_new_ones(pg_live: LiveServer) -> None:
    """COPY refuses the whole batch on the first stored id; the retry path must still store
    and count exactly the new events, with their column values intact."""
    live = pg_live
    session_id, jwt = live.start_session()
    first = [action(id=f"a{i}", name=f"step {i}") for i in range(10)]
    assert live.send_events(jwt, first).json()["inserted"] == 10
    overlap = [action(id=f"a{i}", name=f"step {i}") for i in range(5, 15)]
    overlap.append(llm(id="l1", model="gpt-4o-mini", agent_id="агент-🤖"))
    assert live.send_events(jwt, overlap).json() == {
        "status": "success",
        "inserted": 6,
        "duplicates": 5,
    }
    stats = live.stats(session_id)
    assert stats["events"] == 16 and stats["event_counts"]["actions"] == 15
    stored = live.store.get_event(session_id, "l1")
    assert (stored.model, stored.agent_id) == ("gpt-4o-mini", "агент-🤖")
    assert stored.cost_nanos is not None and stored.cost_nanos > 0
