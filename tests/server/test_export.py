"""The export API: stats, the streamed export (AgentOps' row shapes) and the session list."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from tests.server.conftest import LiveServer, action, error, llm, tool


def test_export_has_agentops_rows_plus_stats_and_agents(live: LiveServer) -> None:
    session_id, jwt = live.start_session(tags=["export"])
    trigger = tool()
    events = [
        action(agent_id="agent-1"),
        trigger,
        llm(provider="openai", cache_read_tokens=20, reasoning_tokens=5),
        llm(prompt="plain text prompt", completion="plain answer", cost="0.25"),
        error(trigger_event_id=trigger["id"], trigger_event_type="tools", code=500),
        action(event_type="custom-step", name="custom", action_type=None),
    ]
    assert live.send_events(jwt, events).status_code == 200
    live.post("/v2/create_agent", {"id": "agent-1", "name": "planner"}, headers=live.auth(jwt))

    res = live.get(f"/v2/sessions/{session_id}/export")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/json")
    body = res.json()
    assert list(body) == [
        "session", "stats", "agents", "logs", "actions", "llms", "tools", "errors"
    ]  # fmt: skip
    assert body["logs"] == []

    session = body["session"]
    assert session["id"] == session_id and session["project_id"] == live.project_id
    assert session["tags"] == ["export"] and session["end_state"] == "Indeterminate"
    assert session["host_env"] == {"OS": {"OS": "Linux"}}
    assert session["init_timestamp"] == "2026-11-21T12:36:31.832889+00:00"
    assert body["agents"] == [{"id": "agent-1", "session_id": session_id, "name": "planner"}]
    assert body["stats"] == live.stats(session_id)

    actions = {a["id"]: a for a in body["actions"]}
    first = actions[events[0]["id"]]
    assert first["action_type"] == "agent-think" and first["agent_id"] == "agent-1"
    assert first["params"] == {"depth": 2, "self": "", "q": "hello"}
    assert first["returns"] == {"answer": "HELLO"}
    assert first["init_timestamp"] == "2026-11-21T12:36:31.888890+00:00"
    assert first["end_timestamp"] == "2026-11-21T12:36:31.904275+00:00"
    custom = actions[events[5]["id"]]
    assert custom["action_type"] == "custom" and custom["event_type"] == "custom-step"

    (tool_row,) = body["tools"]
    assert tool_row["name"] == "web-search" and tool_row["returns"] == ["r1", "r2"]

    chat, text = sorted(body["llms"], key=lambda r: r["cost"] == "0.25")
    assert chat["prompt"] == {"type": "chatml", "messages": [{"role": "user", "content": "hi"}]}
    assert chat["completion"] == {
        "type": "chatml",
        "messages": {"role": "assistant", "content": "hello"},
    }
    assert chat["model"] == "gpt-4o-mini" and chat["provider"] == "openai"
    assert (chat["prompt_tokens"], chat["completion_tokens"]) == (100, 50)
    assert (chat["cache_read_tokens"], chat["reasoning_tokens"]) == (20, 5)
    assert chat["cost_source"] == "computed" and Decimal(chat["cost"]) > 0
    assert text["prompt"] == {"type": "string", "string": "plain text prompt"}
    assert text["completion"] == {"type": "string", "string": "plain answer"}
    assert text["cost_source"] == "reported"

    (err,) = body["errors"]
    assert err["error_type"] == "ValueError" and err["details"] == "bad x"
    assert err["trigger_event_id"] == trigger["id"] and err["trigger_event_type"] == "tools"
    assert err["code"] == 500 and err["timestamp"] == "2026-11-21T12:36:35+00:00"
    assert err["logs"].startswith("Traceback")


def test_stats_fields(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    live.send_events(jwt, [llm(cache_read_tokens=30), llm(model="mystery-llm"), error(), tool()])
    stats = live.stats(session_id)
    assert stats["session_id"] == session_id
    assert stats["events"] == 4 and stats["errors"] == 1
    assert stats["prompt_tokens"] == 200 and stats["completion_tokens"] == 100
    assert stats["cache_read_tokens"] == 30 and stats["reasoning_tokens"] == 0
    assert stats["event_counts"] == {"llms": 2, "tools": 1, "actions": 0, "errors": 1}
    assert stats["unknown_cost_events"] == 1 and stats["cost_complete"] is False
    assert Decimal(stats["cost"]) > 0
    assert stats["end_state"] == "Indeterminate" and stats["end_timestamp"] is None
    assert stats["first_event_at"] == "2026-11-21T12:36:32+00:00"
    assert stats["last_event_at"] == "2026-11-21T12:36:35+00:00"
    assert stats["duration"] == 3.167111  # open session: until its last event


def test_a_large_export_streams_every_event(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    total = 3000
    for start in range(0, total, 500):
        batch = [action(id=f"e{n:05d}") for n in range(start, start + 500)]
        assert live.send_events(jwt, batch).status_code == 200
    with live.client.stream(
        "GET", f"{live.url}/v2/sessions/{session_id}/export", headers=live.key_headers()
    ) as res:
        assert res.status_code == 200
        assert "content-length" not in res.headers  # streamed, not built in memory
        chunks = list(res.iter_raw())
    assert len(chunks) > 1
    body = json.loads(b"".join(chunks))
    assert len(body["actions"]) == total
    assert len({a["id"] for a in body["actions"]}) == total


def test_list_is_newest_first_with_keyset_pagination(live: LiveServer) -> None:
    ids = []
    for n in range(7):
        session_id, _ = live.start_session(init_timestamp=f"2026-11-0{n + 1}T10:00:00+00:00")
        ids.append(session_id)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = live.get("/v2/sessions", params=params).json()
        seen += [item["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    item = live.get("/v2/sessions", params={"limit": 1}).json()["data"][0]
    assert item["stats"]["session_id"] == item["id"] and "host_env" not in item


def test_list_filters(live: LiveServer) -> None:
    a, jwt_a = live.start_session(tags=["alpha"], init_timestamp="2026-11-01T10:00:00+00:00")
    b, _ = live.start_session(tags=["beta"], init_timestamp="2026-11-05T10:00:00+00:00")
    end = {"session": {"end_state": "Failure", "end_state_reason": "oops", "is_running": False}}
    assert live.post("/v2/update_session", end, headers=live.auth(jwt_a)).status_code == 200

    def ids(**params: str) -> list[str]:
        return [item["id"] for item in live.get("/v2/sessions", params=params).json()["data"]]

    assert ids(tag="alpha") == [a]
    assert ids(end_state="Fail") == [a] and ids(end_state="Failure") == [a]
    assert ids(end_state="Indeterminate") == [b]
    assert ids(started_after="2026-11-03T00:00:00Z") == [b]
    assert ids(started_before="2026-11-03T00:00:00") == [a]
    assert ids(text="oops") == [a]
    assert ids(text=b[:8]) == [b]


def test_export_of_a_session_without_events(live: LiveServer) -> None:
    session_id = str(uuid.uuid4())
    live.start_session(session_id)
    body = live.get(f"/v2/sessions/{session_id}/export").json()
    assert body["actions"] == body["llms"] == body["tools"] == body["errors"] == []
    assert body["stats"]["cost"] == "0" and body["stats"]["events"] == 0


def test_export_memory_does_not_grow_with_the_number_of_events(live: LiveServer) -> None:
    """The export is produced chunk by chunk: its peak Python memory is the same for 2,000
    and for 12,000 events (a 100,000-event export is measured by benchmarks/ingest.py)."""
    import tracemalloc

    from agentops_server import queries

    def peak_for(count: int) -> tuple[int, int]:
        session_id, jwt = live.start_session()
        for start in range(0, count, 1000):
            batch = [action(id=f"m{n}", logs="x" * 200) for n in range(start, start + 1000)]
            assert live.send_events(jwt, batch).status_code == 200
        tracemalloc.start()
        try:
            size = sum(
                len(c) for c in queries.export_session(live.store, live.project_id, session_id)
            )
            return size, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small_size, small_peak = peak_for(2000)
    big_size, big_peak = peak_for(12000)
    assert big_size > 5 * small_size
    assert big_peak < small_peak * 1.5 + 1_000_000


def test_events_nest_by_parent_id_in_the_export(live: LiveServer) -> None:
    """create_events takes parent_id; the export gives it back (null directly under the
    session), so a client's call tree survives the round trip."""
    session_id, jwt = live.start_session()
    outer = action()
    inner = llm(parent_id=outer["id"])
    assert live.send_events(jwt, [outer, inner]).status_code == 200
    body = live.get(f"/v2/sessions/{session_id}/export").json()
    assert body["actions"][0]["parent_id"] is None
    assert body["llms"][0]["parent_id"] == outer["id"]
    bad = live.send_events(jwt, [action(parent_id={"not": "an id"})])
    assert bad.status_code == 422 and "parent_id" in bad.json()["message"]
