"""The agentops 0.4 API on our SDK against a real `agentops serve`: traces are sessions, and
decorated calls nest (parent_id) in the export, sync, async and generators alike."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

import agentops
from agentops import _recording
from agentops.sdk.decorators import agent as agent_from_sdk_path
from tests.sdk.conftest import (
    as_from_a_terminal,
    export,
    init_only,
    run_script,
    script_env,
    write_script,
)
from tests.support.server import ServerProcess


@agentops.tool(cost=0.01)
def get_weather(city: str) -> dict[str, Any]:
    return {"city": city, "temp_c": 21}


@agentops.tool
def failing_tool(x: int) -> int:
    raise RuntimeError("tool exploded")


@agentops.task(name="named_task", version=2)
def summarize(text: str) -> str:
    return text.upper()


@agentops.operation
def plan_step(goal: str) -> str:
    return f"plan for {goal}"


@agentops.task
def explode() -> int:
    return failing_tool(1)


@agentops.agent(name="crasher")
def crasher() -> int:
    return explode()


@agent_from_sdk_path(name="ResearchAgent")
class ResearchAgent:
    def __init__(self, goal: str) -> None:
        self.goal = goal

    @agentops.operation
    def run(self) -> str:
        plan_step(self.goal)
        summarize("done")
        get_weather("Paris")
        return "ok"


@agentops.task
async def fetch(n: int) -> int:
    await asyncio.sleep(0)
    return n * 2


@agentops.workflow
async def pipeline() -> int:
    return sum(await asyncio.gather(fetch(1), fetch(2)))


@agentops.task
def numbers() -> Iterator[int]:
    for i in range(3):
        plan_step(str(i))
        yield i


@agentops.task
async def letters() -> AsyncIterator[str]:
    for letter in "ab":
        await fetch(1)
        yield letter


def trace(name: str, tags: Any = None) -> agentops.TraceContext:
    ctx = agentops.start_trace(name, tags=tags)
    assert ctx is not None
    return ctx


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    events = [*data["actions"], *data["tools"]]
    named = {str(e.get("action_type") or e.get("name")): e for e in events}
    assert len(named) == len(events), "names are unique in these tests"
    return named


def test_a_workflow_of_agents_tasks_and_tools_is_one_session_with_its_tree(
    server: ServerProcess,
) -> None:
    init_only(server)
    ctx = agentops.start_trace("workflow_trace", tags=["e2e", "workflow"])
    assert ctx is not None
    ResearchAgent("climate").run()
    with pytest.raises(RuntimeError, match="tool exploded"):  # reaches the caller unchanged
        crasher()
    agentops.end_trace(ctx, "Fail")
    assert agentops.flush()  # end_trace() queues the end and returns: sent by now

    trace_id = ctx.span.get_span_context().trace_id
    assert isinstance(trace_id, int)
    data = export(server, uuid.UUID(int=trace_id))
    session, stats = data["session"], data["stats"]
    assert session["name"] == "workflow_trace" and session["end_state"] == "Fail"
    assert sorted(session["tags"]) == ["e2e", "workflow"]
    events = by_name(data)
    research, run, crash = events["ResearchAgent"], events["run"], events["crasher"]
    assert research["parent_id"] is None and crash["parent_id"] is None
    assert run["parent_id"] == research["id"]
    for name in ("plan_step", "named_task", "get_weather"):
        assert events[name]["parent_id"] == run["id"], name
    assert events["explode"]["parent_id"] == crash["id"]
    assert events["failing_tool"]["parent_id"] == events["explode"]["id"]
    assert events["get_weather"]["params"] == {"args": ["Paris"], "kwargs": {}}
    assert events["get_weather"]["returns"] == {"city": "Paris", "temp_c": 21}
    assert events["run"]["params"] == {"args": [], "kwargs": {}}  # self is not an input

    agents = {a["name"]: a["id"] for a in data["agents"]}
    assert sorted(agents) == ["ResearchAgent", "crasher"]
    for name in ("ResearchAgent", "run", "plan_step", "get_weather"):
        assert events[name]["agent_id"] == agents["ResearchAgent"], name
    for name in ("crasher", "explode", "failing_tool"):
        assert events[name]["agent_id"] == agents["crasher"], name

    (error,) = data["errors"]  # raised through three decorated calls, recorded once
    assert error["trigger_event_id"] == events["failing_tool"]["id"]
    assert error["error_type"] == "RuntimeError" and "tool exploded" in str(error["details"])
    assert stats["event_counts"] == {"llms": 0, "tools": 2, "actions": 6, "errors": 1}
    assert Decimal(stats["cost"]) == Decimal("0.01")  # @tool(cost=0.01)
    assert Decimal(events["get_weather"]["cost"]) == Decimal("0.01")


def test_async_calls_generators_and_async_generators_nest(server: ServerProcess) -> None:
    init_only(server)
    with trace("async_trace") as ctx:
        assert asyncio.run(pipeline()) == 6
        assert list(numbers()) == [0, 1, 2]

        async def consume() -> list[str]:
            return [letter async for letter in letters()]

        assert asyncio.run(consume()) == ["a", "b"]
    data = export(server, ctx.session.session_id)
    assert data["session"]["end_state"] == "Success"
    actions = data["actions"]
    by_id = {a["id"]: a for a in actions}
    parents = sorted(
        (a["action_type"], by_id[a["parent_id"]]["action_type"] if a["parent_id"] else None)
        for a in actions
    )
    assert parents == sorted(
        [
            ("pipeline", None),
            ("fetch", "pipeline"),
            ("fetch", "pipeline"),
            ("numbers", None),
            ("plan_step", "numbers"),
            ("plan_step", "numbers"),
            ("plan_step", "numbers"),
            ("letters", None),
            ("fetch", "letters"),
            ("fetch", "letters"),
        ]
    )


class Toolbox:
    """Decorators above @staticmethod and @classmethod, which agentops 0.4 (wrapt) allows."""

    scale = 3

    @agentops.tool(cost=0.25)
    @staticmethod
    def add(a: int, b: int) -> int:
        return a + b

    @agentops.operation
    @classmethod
    def scaled(cls, x: int) -> int:
        return cls.scale * x

    @agentops.record_tool("legacy_add")
    @staticmethod
    def legacy_add(a: int, b: int) -> int:
        return a + b


def test_decorators_above_staticmethod_and_classmethod_record_the_call(
    server: ServerProcess,
) -> None:
    init_only(server)
    with trace("methods") as ctx:
        assert Toolbox.add(1, 2) == 3 and Toolbox().add(2, 2) == 4
        assert Toolbox.scaled(2) == 6 and Toolbox().scaled(1) == 3
        assert Toolbox.legacy_add(5, 5) == 10
    data = export(server, ctx.session.session_id)
    tools = sorted(((t["name"], t["params"], t["returns"]) for t in data["tools"]), key=str)
    assert tools == [
        ("add", {"args": [1, 2], "kwargs": {}}, 3),
        ("add", {"args": [2, 2], "kwargs": {}}, 4),
        ("legacy_add", {"a": 5, "b": 5}, 10),
    ]
    assert Decimal(data["stats"]["cost"]) == Decimal("0.5")
    scaled = sorted(((a["params"], a["returns"]) for a in data["actions"]), key=str)
    assert scaled == [({"args": [1], "kwargs": {}}, 3), ({"args": [2], "kwargs": {}}, 6)]


@agentops.trace(name="streaming-job")
def streaming_job(n: int) -> Iterator[str]:
    for i in range(n):
        get_weather(f"city-{i}")  # each step's work lands in the generator's own session
        yield str(_recording.context_session().session_id)  # type: ignore[union-attr]
    if n == 0:
        raise RuntimeError("nothing to stream")


@agentops.trace
async def async_streaming_job() -> AsyncIterator[str]:
    for i in range(2):
        get_weather(f"async-{i}")
        yield str(_recording.context_session().session_id)  # type: ignore[union-attr]


def test_trace_on_a_generator_is_a_session_that_ends_with_it(server: ServerProcess) -> None:
    init_only(server)
    (whole,) = set(streaming_job(3))
    first = next(iter(streaming_job(5)))  # the consumer stops early: the trace is done
    with pytest.raises(RuntimeError, match="nothing to stream"):
        list(streaming_job(0))

    async def consume() -> set[str]:
        return {sid async for sid in async_streaming_job()}

    (async_one,) = asyncio.run(consume())
    assert len({whole, first, async_one}) == 3
    # the caller's own work between the steps stays in the caller's session
    with trace("outer") as outer:
        for _ in streaming_job(2):
            get_weather("between steps")
    assert agentops.flush()  # each trace's end was queued, not waited for
    assert len(export(server, outer.session.session_id)["tools"]) == 2
    for sid, tools, name in ((whole, 3, "streaming-job"), (first, 1, "streaming-job"),
                             (async_one, 2, "async_streaming_job")):  # fmt: skip
        data = export(server, sid)
        assert (data["session"]["name"], data["session"]["end_state"]) == (name, "Success")
        assert len(data["tools"]) == tools
    assert agentops.get_client().dropped_events == 0


def test_with_start_trace_ends_fail_when_its_block_raises_and_keeps_enum_states(
    server: ServerProcess,
) -> None:
    init_only(server)
    with pytest.raises(ValueError, match="boom"), trace("err") as failed:
        raise ValueError("boom")
    default = agentops.start_trace("default_end", tags={"team": "alpha"})
    error = agentops.start_trace("enum_error")
    unset = agentops.start_trace("enum_unset")
    assert default is not None and error is not None and unset is not None
    agentops.end_trace(default)  # TraceState.SUCCESS, dropped by 0.4.21, kept here
    agentops.end_trace(error, agentops.TraceState.ERROR)
    agentops.end_trace(unset, agentops.UNSET)
    assert agentops.flush()
    states = {
        name: export(server, ctx.session.session_id)["session"]
        for name, ctx in (("err", failed), ("default", default), ("error", error), ("unset", unset))
    }
    assert states["err"]["end_state"] == "Fail" and "boom" in states["err"]["end_state_reason"]
    assert states["default"]["end_state"] == "Success"
    assert states["default"]["tags"] == ["team:alpha"]
    assert states["error"]["end_state"] == "Fail"
    assert states["unset"]["end_state"] == "Indeterminate"


def test_metadata_and_legacy_end_session_keywords_are_kept(server: ServerProcess) -> None:
    init_only(server)
    ctx = agentops.start_trace("meta")
    assert ctx is not None
    assert agentops.update_trace_metadata({"user_id": "u-42", "tags": ["meta-tag"]})
    legacy = agentops.start_session(tags=["legacy"])
    assert legacy is not None
    agentops.end_session(legacy, end_state="Fail", end_state_reason="gave up", custom="abc")
    agentops.end_trace(ctx, "Success")
    meta = export(server, ctx.session.session_id)["session"]
    assert meta["metadata"] == {"user_id": "u-42"} and meta["tags"] == ["meta-tag"]
    old = export(server, legacy.session_id)["session"]
    assert (old["end_state"], old["end_state_reason"]) == ("Fail", "gave up")
    assert old["metadata"] == {"custom": "abc"}


def test_a_trace_left_open_at_exit_ends_indeterminate_and_is_delivered(
    server: ServerProcess, tmp_path: Any
) -> None:
    done = run_script(
        tmp_path,
        """
        import agentops

        @agentops.tool(cost=0.5)
        def lookup(q):
            return q

        agentops.init(auto_start_session=False)
        ctx = agentops.start_trace("left_open", tags=["open"])
        lookup("x")
        print(ctx.session.session_id)
        """,
        script_env(server),
    )
    assert done.returncode == 0, done.stderr
    data = export(server, done.stdout.strip().splitlines()[-1])
    assert data["session"]["end_state"] == "Indeterminate"
    assert data["session"]["tags"] == ["open"]
    assert data["stats"]["event_counts"]["tools"] == 1
    assert Decimal(data["stats"]["cost"]) == Decimal("0.5")


INTERRUPTED_AGENT = """
    import sys, time
    import agentops

    @agentops.tool(cost=0.25)
    def lookup(q):
        return q

    @agentops.task
    def wait_for_input():
        print("ready", flush=True)
        time.sleep(60)

    @agentops.agent(name="Waiter")
    def waiter():
        lookup("x")
        wait_for_input()

    agentops.init(auto_start_session=False)
    ctx = agentops.start_trace("interrupted", tags=["sigint"])
    print(ctx.session.session_id, flush=True)
    waiter()
"""
PLAIN_AGENT = """
    import time
    print("ready", flush=True)
    time.sleep(60)
"""


def test_ctrl_c_in_a_decorated_call_ends_the_trace_and_exits_as_without_the_sdk(
    server: ServerProcess, tmp_path: Any
) -> None:
    """SIGINT while a @task of an @agent runs: the trace ends Fail and is delivered with every
    call, the interrupted ones included; KeyboardInterrupt and the exit status are Python's."""
    outcomes = {}
    for name, source in (("plain", PLAIN_AGENT), ("sdk", INTERRUPTED_AGENT)):
        path = write_script(tmp_path, source, f"{name}.py")
        proc = subprocess.Popen(
            [sys.executable, str(path)],
            preexec_fn=as_from_a_terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=script_env(server),
        )
        assert proc.stdout is not None
        lines = []
        while (line := proc.stdout.readline().strip()) != "ready":
            assert line, "the script ended before it was ready"
            lines.append(line)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        outcomes[name] = (proc.returncode, "KeyboardInterrupt" in stderr, lines)
    assert outcomes["sdk"][:2] == outcomes["plain"][:2] == (outcomes["plain"][0], True)
    data = export(server, outcomes["sdk"][2][0])
    session = data["session"]
    assert session["name"] == "interrupted" and session["tags"] == ["sigint"]
    assert session["end_state"] == "Fail"
    assert session["end_state_reason"] == "Signal SIGINT detected"
    (tool,) = data["tools"]
    assert Decimal(tool["cost"]) == Decimal("0.25")
    assert [a["name"] for a in data["agents"]] == ["Waiter"]
    assert tool["agent_id"] == data["agents"][0]["id"]
    # the interrupted calls unwind before the trace ends: recorded, nested, no error event
    actions = {a["action_type"]: a for a in data["actions"]}
    assert sorted(actions) == ["Waiter", "wait_for_input"]
    assert actions["wait_for_input"]["parent_id"] == actions["Waiter"]["id"]
    assert tool["parent_id"] == actions["Waiter"]["id"]
    assert data["errors"] == []
