"""What agentops 0.4's decorators record, against a real `agentops serve`, where it used to
differ from the real agentops 0.4.21: values as they were at the call (not as the program
changed them later), calls still running when their trace ends, an agent object used in
several traces, a trace started inside a decorated call, and agent objects that copy and
pickle."""

from __future__ import annotations

import copy
import pickle
import threading
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

import agentops
from agentops import _recording
from tests.sdk.conftest import export as export_now
from tests.sdk.conftest import init_only
from tests.support.server import ServerProcess


def export(server: ServerProcess, session_id: uuid.UUID) -> dict[str, Any]:
    """The session as stored, once what the SDK holds was sent (a 0.4 ending does not wait)."""
    assert agentops.flush()
    return export_now(server, session_id)


def started(name: str) -> agentops.TraceContext:
    ctx = agentops.start_trace(name)
    assert ctx is not None
    return ctx


def trace_id(ctx: agentops.TraceContext) -> uuid.UUID:
    value = ctx.span.get_span_context().trace_id
    assert isinstance(value, int)
    return uuid.UUID(int=value)


def named(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The session's action and tool events called `name`, oldest first."""
    events = [
        e for e in [*data["actions"], *data["tools"]] if (e.get("action_type") or e["name"]) == name
    ]
    return sorted(events, key=lambda e: str(e["init_timestamp"]))


@agentops.tool
def respond(messages: list[dict[str, str]]) -> dict[str, str]:
    return {"role": "assistant", "content": f"a{len(messages)}"}


class Note:
    def __init__(self, text: str) -> None:
        self.text = text

    def model_dump(self) -> dict[str, str]:
        return {"text": self.text}


@agentops.operation
def annotate(note: Note, tags: list[str], *, extra: dict[str, int]) -> list[str]:
    return tags


def test_arguments_and_results_are_recorded_as_they_were_at_the_call(
    server: ServerProcess,
) -> None:
    init_only(server)
    ctx = started("snapshots")
    messages: list[dict[str, str]] = []
    for i in range(3):
        messages.append({"role": "user", "content": f"q{i}"})
        reply = respond(messages)
        messages.append(reply)
        reply["content"] += " (edited)"
    note, tags, extra = Note("before"), ["t1"], {"n": 1}
    returned = annotate(note, tags, extra=extra)
    note.text, extra["n"] = "after", 2
    tags.append("t2")  # also the list it returned
    agentops.end_trace(ctx, "Success")

    data = export(server, trace_id(ctx))
    calls = named(data, "respond")
    assert [len(c["params"]["args"][0]) for c in calls] == [1, 3, 5]
    assert [c["returns"] for c in calls] == [
        {"role": "assistant", "content": f"a{n}"} for n in (1, 3, 5)
    ]
    # the reply was edited after the first call returned it, before the second was made
    assert calls[1]["params"]["args"][0][1] == {"role": "assistant", "content": "a1 (edited)"}
    (call,) = named(data, "annotate")
    assert call["params"] == {"args": [{"text": "before"}, ["t1"]], "kwargs": {"extra": {"n": 1}}}
    assert call["returns"] == ["t1"] and returned == ["t1", "t2"]


@agentops.tool
def step(x: int) -> int:
    return x * 2


@agentops.agent
def runner() -> str:
    step(2)
    agentops.end_trace(end_state="Success")
    return "r"


@agentops.operation
def failing_runner() -> None:
    agentops.end_trace(end_state="Success")
    raise ValueError("after the end")


def test_a_call_running_when_its_trace_ends_is_recorded_in_it(server: ServerProcess) -> None:
    init_only(server)
    ctx = started("ends-inside")
    assert runner() == "r"
    agentops.flush()
    data = export(server, trace_id(ctx))
    (run,) = named(data, "runner")
    (stepped,) = named(data, "step")
    assert stepped["parent_id"] == run["id"] and run["returns"] == "r"
    assert data["session"]["end_state"] == "Success"

    ctx = started("fails-after-the-end")
    with pytest.raises(ValueError, match="after the end"):
        failing_runner()
    agentops.flush()
    data = export(server, trace_id(ctx))
    (failed,) = named(data, "failing_runner")
    (error,) = data["errors"]
    assert error["trigger_event_id"] == failed["id"] and error["error_type"] == "ValueError"


def test_a_call_in_another_thread_when_the_trace_ends_is_recorded(server: ServerProcess) -> None:
    init_only(server)
    ctx = started("thread")
    entered, release = threading.Event(), threading.Event()

    @agentops.task
    def slow() -> str:
        entered.set()
        release.wait(30)
        return "late"

    worker = threading.Thread(target=slow)
    worker.start()
    assert entered.wait(30)
    agentops.end_trace(ctx, "Success")
    release.set()
    worker.join(30)
    agentops.flush()
    (call,) = named(export(server, trace_id(ctx)), "slow")
    assert call["returns"] == "late" and call["end_timestamp"] is not None


@agentops.agent
class Bot:
    def __init__(self, name: str) -> None:
        self.name = name

    def answer(self, q: str) -> str:
        step(len(q))
        return f"{self.name}: {q}"


def test_an_agent_object_acts_as_itself_in_every_trace_it_is_used_in(
    server: ServerProcess,
) -> None:
    init_only(server)
    early = Bot("early")  # before any trace: no event, an agent all the same
    first = started("req-1")
    bot = Bot("bot")
    bot.answer("hi")
    agentops.end_trace(first, "Success")
    second = started("req-2")
    bot.answer("again")
    early.answer("late")
    agentops.end_trace(second, "Success")

    one, two = export(server, trace_id(first)), export(server, trace_id(second))
    (made,) = named(one, "Bot")
    assert {a["id"]: a["name"] for a in one["agents"]} == {made["id"]: "Bot"}
    assert named(one, "step")[0]["parent_id"] == made["id"]  # nests under its making
    agents = {a["id"] for a in two["agents"]}
    steps = named(two, "step")
    assert len(agents) == 2 and {s["agent_id"] for s in steps} == agents
    assert made["id"] in agents
    assert all(s["parent_id"] is None for s in steps)  # its making is in another trace
    assert named(two, "Bot") == []


@agentops.agent
class PAgent(BaseModel):
    name: str

    def hello(self) -> str:
        return f"hello {self.name}"


@agentops.agent
class Plain:
    def __init__(self, name: str) -> None:
        self.name = name


def test_agent_objects_copy_and_pickle(server: ServerProcess) -> None:
    init_only(server)
    ctx = started("copies")
    a = PAgent(name="p")
    for twin in (a.model_copy(deep=True), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert twin.name == "p" and twin.hello() == "hello p"
    assert a.model_dump() == {"name": "p"}
    b = Plain("q")
    assert pickle.loads(pickle.dumps(b)).name == "q" and copy.deepcopy(b).name == "q"
    agentops.end_trace(ctx, "Success")
    data = export(server, trace_id(ctx))
    assert sorted(a["name"] for a in data["agents"]) == ["PAgent", "Plain"]


@agentops.agent
class Broken:
    def __init__(self) -> None:
        raise KeyError("no")


def test_an_agent_whose_init_raises_has_its_event_and_error(server: ServerProcess) -> None:
    init_only(server)
    ctx = started("broken")
    with pytest.raises(KeyError):
        Broken()
    agentops.end_trace(ctx, "Success")
    data = export(server, trace_id(ctx))
    (made,) = named(data, "Broken")
    (error,) = data["errors"]
    assert [a["id"] for a in data["agents"]] == [made["id"]]
    assert error["trigger_event_id"] == made["id"]


@agentops.workflow
def outer_flow() -> agentops.TraceContext:
    inner = started("inner")
    step(1)
    agentops.update_trace_metadata({"stage": "inner"})
    agentops.end_trace(inner, "Success")
    step(3)
    return inner


traced_sessions: list[uuid.UUID] = []


@agentops.trace(name="traced")
def traced() -> int:
    session = _recording.current_session()
    assert session is not None
    traced_sessions.append(session.session_id)
    step(5)
    return 5


@agentops.agent
def caller() -> int:
    return traced()


def test_a_trace_started_inside_a_call_takes_the_calls_made_within_it(
    server: ServerProcess,
) -> None:
    init_only(server)
    outer = started("outer")
    inner = outer_flow()
    assert caller() == 5
    agentops.end_trace(outer, "Success")

    data = export(server, trace_id(inner))
    assert data["session"]["metadata"] == {"stage": "inner"}
    (stepped,) = named(data, "step")
    assert stepped["params"]["args"] == [1] and stepped["parent_id"] is None
    data = export(server, trace_id(outer))
    (flow,) = named(data, "outer_flow")
    (after,) = named(data, "step")  # after the inner trace ended: the outer's again
    assert after["params"]["args"] == [3] and after["parent_id"] == flow["id"]
    assert [e["action_type"] for e in data["actions"]] == ["outer_flow", "caller"]
    (traced_id,) = traced_sessions
    assert [e["params"]["args"] for e in named(export(server, traced_id), "step")] == [[5]]
