"""What a signal that ends the program leaves recorded of the 0.4 decorated calls still
running: a real agent script against a real `agentops serve`, read back through the export."""

from __future__ import annotations

import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

import agentops
from agentops import _running
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import export, run_script, script_env
from tests.support.server import ServerProcess

NESTED_CALLS = """
    import os, signal, sys, threading, uuid
    import agentops

    {handler}
    agentops.init(auto_start_session=False)
    ctx = agentops.start_trace("killed")
    print(uuid.UUID(int=ctx.span.get_span_context().trace_id), flush=True)

    @agentops.tool
    def lookup(query):
        return query.upper()

    @agentops.tool
    def terminated():
        os.kill(os.getpid(), signal.SIGTERM)  # handled here, between two bytecodes
        print("still running after the signal", flush=True)

    @agentops.operation
    def plan():
        lookup("before")  # ended and sent: its parent is still running at the signal
        terminated()

    @agentops.agent
    def researcher():
        return plan()

    @agentops.workflow
    def steps():
        yield 1
        yield 2

    waiting = threading.Event()

    @agentops.task
    def background():
        lookup("in a thread")
        waiting.set()
        threading.Event().wait()  # forever: the thread never leaves this call

    threading.Thread(target=background, daemon=True).start()
    waiting.wait()
    started = steps()
    next(started)  # suspended inside the generator's call
    researcher()
"""


def stored(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The session's action and tool events by name."""
    found: dict[str, list[dict[str, Any]]] = {}
    for event in [*data["actions"], *data["tools"]]:
        found.setdefault(event.get("action_type") or event["name"], []).append(event)
    return found


def test_sigterm_records_the_calls_still_running_in_every_thread(
    server: ServerProcess, tmp_path: Path
) -> None:
    done = run_script(tmp_path, NESTED_CALLS.format(handler=""), script_env(server))
    assert done.returncode == -signal.SIGTERM, done.stderr  # dies of it, as without the SDK
    assert "still running" not in done.stdout
    data = export(server, done.stdout.split()[0])
    assert (data["session"]["end_state"], data["session"]["end_state_reason"]) == (
        "Fail",
        "Signal SIGTERM detected",
    )
    calls = stored(data)
    assert sorted(calls) == ["background", "lookup", "plan", "researcher", "steps", "terminated"]
    assert len(calls["lookup"]) == 2
    ids = {e["id"] for events in calls.values() for e in events}
    for event in [*data["actions"], *data["tools"], *data["errors"]]:
        assert event["parent_id"] is None or event["parent_id"] in ids, event
    assert calls["terminated"][0]["parent_id"] == calls["plan"][0]["id"]
    assert calls["plan"][0]["parent_id"] == calls["researcher"][0]["id"]
    assert all(events[0]["end_timestamp"] is not None for events in calls.values())
    # one error per chain of running calls, by its deepest call, naming the signal
    errors = {e["trigger_event_id"]: e for e in data["errors"]}
    deepest = {name: calls[name][0]["id"] for name in ("terminated", "background", "steps")}
    assert sorted(errors) == sorted(deepest.values())
    for error in errors.values():
        assert (error["error_type"], error["details"]) == ("SIGTERM", "Signal SIGTERM detected")
    assert "in terminated" in errors[deepest["terminated"]]["logs"]  # where it was
    assert "in background" in errors[deepest["background"]]["logs"]


@pytest.mark.parametrize("how", ["sys.exit(3)", "raise RuntimeError('stop')"])
def test_a_handler_that_ends_the_process_leaves_every_call_recorded(
    server: ServerProcess, tmp_path: Path, how: str
) -> None:
    """The program's own SIGTERM handler raises inside the calls: the main thread's stack
    unwinds through them (each is recorded as it ends, the exception's error by the deepest);
    the thread's call and the suspended generator never end: the exit hook records them,
    ended by the signal."""
    handler = f"def stop(signum, frame):\n        {how}\n    signal.signal(signal.SIGTERM, stop)"
    done = run_script(tmp_path, NESTED_CALLS.format(handler=handler), script_env(server))
    assert done.returncode == (3 if "exit" in how else 1), done.stderr
    data = export(server, done.stdout.split()[0])
    assert data["session"]["end_state"] == "Fail"  # by the signal, or by the uncaught error
    calls = stored(data)
    assert sorted(calls) == ["background", "lookup", "plan", "researcher", "steps", "terminated"]
    ids = {e["id"] for events in calls.values() for e in events}
    for event in [*data["actions"], *data["tools"], *data["errors"]]:
        assert event["parent_id"] is None or event["parent_id"] in ids, event
    errors = {(e["error_type"], e["trigger_event_id"]) for e in data["errors"]}
    expected = {("SIGTERM", calls["background"][0]["id"]), ("SIGTERM", calls["steps"][0]["id"])}
    if "RuntimeError" in how:  # an exception: its error, once
        expected.add(("RuntimeError", calls["terminated"][0]["id"]))
    assert errors == expected


def test_calls_still_running_at_a_normal_exit_are_recorded_without_an_error(
    server: ServerProcess, tmp_path: Path
) -> None:
    source = NESTED_CALLS.format(handler="").replace("    researcher()\n", "")
    done = run_script(tmp_path, source, script_env(server))
    assert done.returncode == 0, done.stderr
    data = export(server, done.stdout.split()[0])
    assert data["session"]["end_state"] == "Indeterminate"
    calls = stored(data)
    assert sorted(calls) == ["background", "lookup", "steps"]
    assert calls["lookup"][0]["parent_id"] == calls["background"][0]["id"]
    assert all(events[0]["end_timestamp"] is not None for events in calls.values())
    assert data["errors"] == []


def test_a_call_the_signal_recorded_is_not_recorded_again_when_it_returns() -> None:
    """In process: what the signal handler does (_running.end_all) while one call runs on
    this thread and one in another; both then return (the process lived on): each call is
    recorded once, by the signal, and only the deepest of each chain has the error."""
    wire = InMemoryTransport()
    agentops.init(
        api_key=str(uuid.uuid4()), transport=wire, auto_start_session=False,
        instrument_llm_calls=False,
    )  # fmt: skip
    ctx = agentops.start_trace("signalled")
    entered, release = threading.Event(), threading.Event()

    @agentops.tool
    def waiting() -> None:
        entered.set()
        release.wait()

    @agentops.task
    def signalled() -> str:
        _running.end_all("SIGTERM", sys._getframe())
        return "returned"

    @agentops.agent
    def outer() -> str:
        return signalled()

    thread = threading.Thread(target=waiting)
    thread.start()
    entered.wait()
    assert outer() == "returned"
    release.set()
    thread.join()
    agentops.end_trace(ctx, "Success")
    assert agentops.flush()
    events = wire.events_of(ctx.session.session_id)
    by_id = {e["id"]: e for e in events}

    def label(event: dict[str, Any]) -> str:
        return str(event.get("action_type") or event.get("name"))

    calls = [e for e in events if e["event_type"] != "errors"]
    assert sorted(label(e) for e in calls) == ["outer", "signalled", "waiting"]
    errors = {label(by_id[e["trigger_event_id"]]): e for e in events if e not in calls}
    assert sorted(errors) == ["signalled", "waiting"]
    assert "in signalled" in errors["signalled"]["logs"]  # the frame the handler was given
    assert "in waiting" in errors["waiting"]["logs"]  # where the other thread was
    assert all(e["returns"] is None for e in calls)  # ended by the signal, not by returning


def test_a_forked_child_keeps_only_the_calls_of_the_thread_that_forked() -> None:
    """After fork only that thread lives on: the other threads' calls never end there, and
    its parent records them."""
    wire = InMemoryTransport()
    agentops.init(
        api_key=str(uuid.uuid4()), transport=wire, auto_start_session=False,
        instrument_llm_calls=False,
    )  # fmt: skip
    ctx = agentops.start_trace("forked")
    entered, release = threading.Event(), threading.Event()
    kept: dict[str, list[str]] = {}

    @agentops.tool
    def elsewhere() -> None:
        entered.set()
        release.wait()

    @agentops.task
    def here() -> None:
        before = {frame.name for frame in _running._running}
        _running._after_fork_in_child()  # as os.fork() runs it in the child
        kept["before"], kept["after"] = sorted(before), [f.name for f in _running._running]

    thread = threading.Thread(target=elsewhere)
    thread.start()
    entered.wait()
    try:
        here()
    finally:
        release.set()
        thread.join()
    agentops.end_trace(ctx, "Success")
    assert kept == {"before": ["elsewhere", "here"], "after": ["here"]}


def test_at_exit_only_the_sessions_running_at_the_signal_get_its_error() -> None:
    """A SIGTERM handler raised, the program caught it and went on in a new trace: a call of
    that trace still running at exit is recorded, without an error naming the signal."""
    wire = InMemoryTransport()
    agentops.init(
        api_key=str(uuid.uuid4()), transport=wire, auto_start_session=False,
        instrument_llm_calls=False,
    )  # fmt: skip
    ctx = agentops.start_trace("later")

    @agentops.task
    def running() -> None:
        _running.end_all("SIGTERM", sys._getframe(), sessions=frozenset())

    running()
    agentops.end_trace(ctx, "Success")
    assert agentops.flush()
    (call,) = wire.events_of(ctx.session.session_id)
    assert call["action_type"] == "running"
