"""record_action, record_tool, record_function and track_agent, sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import agentops
from tests.sdk.conftest import export, start
from tests.support.server import ServerProcess


class Shot:
    screenshot = "data:image/png;base64,AAAA"


def test_record_action_and_tool_sync_and_async(server: ServerProcess) -> None:
    session = start(server)

    @agentops.record_action("agent-think")
    def think(q: str, depth: int = 2) -> tuple[str, int]:
        return q.upper(), depth

    @agentops.record_action()
    async def act(x: int) -> Shot:
        await asyncio.sleep(0)
        return Shot()

    @agentops.record_tool("web-search")
    def search(query: str, k: int = 3) -> list[str]:
        return ["r1", "r2"][:k]

    @agentops.record_tool()
    async def fetch(url: str) -> str:
        return "<html>"

    assert think("hello") == ("HELLO", 2)
    assert isinstance(asyncio.run(act(1)), Shot)
    assert search("agentops", k=1) == ["r1"]
    assert asyncio.run(fetch("http://x")) == "<html>"
    session.end_session("Success")
    data = export(server, session.session_id)
    actions = {a["action_type"]: a for a in data["actions"]}
    assert actions["agent-think"]["params"] == {"q": "hello", "depth": 2}
    assert actions["agent-think"]["returns"] == ["HELLO", 2]
    assert actions["act"]["screenshot"] == Shot.screenshot
    tools = {t["name"]: t for t in data["tools"]}
    assert tools["web-search"]["params"] == {"query": "agentops", "k": 1}
    assert tools["fetch"]["returns"] == "<html>"
    for event in [*data["actions"], *data["tools"]]:
        assert event["end_timestamp"] >= event["init_timestamp"]


def test_failure_records_the_event_and_a_linked_error_then_reraises(
    server: ServerProcess,
) -> None:
    session = start(server)

    @agentops.record_action("risky")
    def risky(x: int) -> None:
        raise ValueError(f"bad {x}")

    @agentops.record_tool("flaky")
    async def flaky() -> None:
        raise ConnectionError("down")

    with pytest.raises(ValueError, match="bad 1"):
        risky(1)
    with pytest.raises(ConnectionError):
        asyncio.run(flaky())
    session.end_session("Success")
    data = export(server, session.session_id)
    action, tool = data["actions"][0], data["tools"][0]
    errors = {e["trigger_event_id"]: e for e in data["errors"]}
    assert errors[action["id"]]["error_type"] == "ValueError"
    assert errors[action["id"]]["details"] == "bad 1"
    assert "ValueError: bad 1" in errors[action["id"]]["logs"]
    assert errors[action["id"]]["trigger_event_type"] == "actions"
    assert errors[tool["id"]]["error_type"] == "ConnectionError"


def test_record_function_is_a_deprecated_alias(server: ServerProcess) -> None:
    session = start(server)

    @agentops.record_function("old-style")
    def old() -> int:
        return 1

    assert old() == 1
    session.end_session("Success")
    assert export(server, session.session_id)["actions"][0]["action_type"] == "old-style"


def test_track_agent_class_and_function(server: ServerProcess) -> None:
    session = start(server)

    @agentops.track_agent(name="researcher")
    class Researcher:
        def __init__(self, topic: str, session: Any = None) -> None:
            self.topic = topic

        def work(self) -> str:
            agentops.record(agentops.ActionEvent(action_type="read"))
            return self.topic

        async def work_async(self) -> None:
            agentops.record(agentops.ActionEvent(action_type="read-async"))

    @agentops.track_agent()
    class Writer:
        role = "writer-role"

    @agentops.track_agent(name="helper")
    def helper() -> None:
        agentops.record(agentops.ToolEvent(name="help"))

    r = Researcher("llms")
    named = Researcher("x", agentops_name="custom")  # type: ignore[call-arg]
    w = Writer()
    assert r.work() == "llms"
    asyncio.run(r.work_async())
    helper()
    agentops.record(agentops.ActionEvent(action_type="no-agent"))
    session.end_session("Success")
    data = export(server, session.session_id)
    agents = {a["id"]: a["name"] for a in data["agents"]}
    r_id: str = r.agentops_agent_id  # type: ignore[attr-defined]
    assert agents[r_id] == "researcher"
    assert agents[named.agentops_agent_id] == "custom"  # type: ignore[attr-defined]
    assert agents[w.agentops_agent_id] == "writer-role"  # type: ignore[attr-defined]
    helper_id = helper.agentops_agent_id  # type: ignore[attr-defined]
    assert agents[helper_id] == "helper"
    by_type = {a["action_type"]: a["agent_id"] for a in data["actions"]}
    assert by_type == {"read": r_id, "read-async": r_id, "no-agent": None}
    assert data["tools"][0]["agent_id"] == helper_id


def test_decorated_function_without_a_session_just_runs() -> None:
    @agentops.record_action()
    def plain(x: int) -> int:
        return x + 1

    assert plain(1) == 2
