"""The agentops 0.4 API's less travelled paths, in process over the in-memory server: values
sent into and thrown into decorated generators, generators closed early, decorated calls
with no trace running, @trace on sync and async functions, and what end_trace,
update_trace_metadata and the end-state parser accept."""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest

import agentops
from agentops import TraceState, _recording
from agentops._trace_context import TraceContext
from agentops._traces import parse_end_state, tag_list
from agentops._transport import Request, Response
from agentops.testing import InMemoryTransport
from agentops.wire import UPDATE_SESSION, EndState
from tests.sdk.conftest import LogLines

KEY = str(uuid.uuid4())


@pytest.fixture
def wire() -> InMemoryTransport:
    transport = InMemoryTransport()
    agentops.init(
        api_key=KEY, transport=transport, auto_start_session=False, instrument_llm_calls=False
    )
    return transport


def started(name: str) -> TraceContext:
    ctx = agentops.start_trace(name)
    assert ctx is not None
    return ctx


def names(wire: InMemoryTransport, session_id: object) -> list[tuple[str, str | None]]:
    """(event name, parent's name) of a session's events, in recording order."""
    agentops.flush()
    events = wire.events_of(str(session_id))
    by_id = {e["id"]: e for e in events}

    def label(e: dict[str, Any]) -> str:
        return str(e.get("action_type") or e.get("name") or e.get("error_type") or "?")

    return [
        (label(e), label(by_id[e["parent_id"]]) if e.get("parent_id") in by_id else None)
        for e in events
    ]


@agentops.task
def running_total() -> Generator[int, int | None, None]:
    total = 0
    while True:
        try:
            value = yield total
        except ValueError:
            total = -1
            continue
        if value is None:
            return
        total += value


@agentops.operation
async def countdown(n: int) -> AsyncGenerator[int, None]:
    while n > 0:
        try:
            yield n
        except KeyError:
            n = 2
        n -= 1


@agentops.tool
def step(x: int) -> int:
    return x * 2


def test_values_sent_and_thrown_into_a_generator_reach_it(wire: InMemoryTransport) -> None:
    ctx = agentops.start_trace("gen")
    assert ctx is not None
    totals = running_total()
    assert next(totals) == 0
    assert totals.send(5) == 5
    assert totals.throw(ValueError("reset")) == -1  # caught inside: the generator goes on
    assert totals.send(3) == 2
    totals.close()  # closed early: the call still ends and is recorded once
    agentops.end_trace(ctx, "Success")
    assert names(wire, ctx.session.session_id) == [("running_total", None)]


def test_a_generator_that_raises_records_one_error(wire: InMemoryTransport) -> None:
    @agentops.task
    def broken() -> Generator[int, None, None]:
        yield 1
        raise RuntimeError("boom")

    with started("gen-fail") as ctx:
        with pytest.raises(RuntimeError, match="boom"):
            list(broken())
    events = names(wire, ctx.session.session_id)
    assert events == [("broken", None), ("RuntimeError", "broken")]


def test_async_generators_take_thrown_values_and_close_early(wire: InMemoryTransport) -> None:
    async def run() -> list[int]:
        seen = []
        gen = countdown(3)
        seen.append(await gen.__anext__())
        seen.append(await gen.athrow(KeyError("skip")))  # caught inside: it goes on from 1
        await gen.aclose()
        async for value in countdown(2):
            seen.append(value)
        return seen

    with started("agen") as ctx:
        assert asyncio.run(run()) == [3, 1, 2, 1]
    assert names(wire, ctx.session.session_id) == [("countdown", None), ("countdown", None)]


def test_an_async_generator_that_raises_records_one_error(wire: InMemoryTransport) -> None:
    @agentops.operation
    async def failing() -> AsyncGenerator[int, None]:
        yield 1
        raise LookupError("gone")

    async def run() -> None:
        async for _ in failing():
            pass

    with started("agen-fail") as ctx:
        with pytest.raises(LookupError):
            asyncio.run(run())
    assert names(wire, ctx.session.session_id) == [("failing", None), ("LookupError", "failing")]


def test_decorated_code_without_a_trace_runs_unrecorded(wire: InMemoryTransport) -> None:
    async def run() -> list[int]:
        return [value async for value in countdown(2)]

    @agentops.agent
    async def helper() -> int:
        return step(4)

    totals = running_total()
    next(totals)
    assert totals.send(2) == 2
    totals.close()
    assert asyncio.run(run()) == [2, 1]
    assert asyncio.run(helper()) == 8
    assert step(1) == 2
    agentops.flush()
    assert wire.events == []


def test_without_a_trace_async_generators_still_take_sent_and_thrown_values(
    wire: InMemoryTransport,
) -> None:
    """Without a session the wrapper used `async for`: asend() values became None and
    athrow() ended the wrapper instead of reaching the generator."""

    @agentops.task
    async def echo() -> AsyncGenerator[str, str | None]:
        got: str | None = None
        while True:
            try:
                got = yield f"got {got}"
            except ValueError:
                got = "ValueError"

    async def drive() -> list[str]:
        gen = echo()
        seen = [await gen.asend(None), await gen.asend("a"), await gen.asend("b")]
        seen.append(await gen.athrow(ValueError("caught inside")))
        await gen.aclose()
        return seen

    assert asyncio.run(drive()) == ["got None", "got a", "got b", "got ValueError"]
    with started("agen-send") as ctx:  # and the same with a trace running
        assert asyncio.run(drive()) == ["got None", "got a", "got b", "got ValueError"]
    assert names(wire, ctx.session.session_id) == [("echo", None)]


def test_trace_decorator_makes_one_session_per_call(wire: InMemoryTransport) -> None:
    @agentops.trace(name="nightly", tags={"team": "ops"})
    def job(x: int) -> int:
        return step(x)

    @agentops.trace(name="async-job")
    async def async_job() -> int:
        return step(2)

    @agentops.trace(name="failing-job")
    def failing_job() -> None:
        step(1)
        raise ValueError("bad input")

    assert job(3) == 6
    assert asyncio.run(async_job()) == 4
    with pytest.raises(ValueError):
        failing_job()
    agentops.flush()
    by_name = {s.get("name"): s for s in wire.sessions.values()}
    assert by_name["nightly"]["end_state"] == "Success"
    assert by_name["nightly"]["tags"] == ["team:ops"]
    assert by_name["async-job"]["end_state"] == "Success"
    failed = by_name["failing-job"]
    assert failed["end_state"] == "Indeterminate" and "bad input" in failed["end_state_reason"]
    assert sum(1 for e in wire.events if e.get("name") == "step") == 3


def test_an_exception_leaving_a_trace_is_recorded_once(wire: InMemoryTransport) -> None:
    """docs/sdk.md: an error is recorded once, by the deepest decorated call it went through;
    one raised in the trace's body itself is the trace's (no trigger, no parent)."""
    sessions: dict[str, object] = {}

    def here() -> object:
        session = _recording.context_session()
        assert session is not None
        return session.session_id

    def traced(name: str, body: Any) -> Any:
        @agentops.trace(name=name)
        def job() -> Any:
            sessions[name] = here()
            return body()

        return job

    def raise_value_error() -> None:
        raise ValueError("in the body")

    @agentops.tool
    def failing_step() -> None:
        raise RuntimeError("in a tool")

    @agentops.record_action("legacy")
    def legacy() -> None:
        raise KeyError("in a 0.3 action")

    @agentops.trace(name="async-body")
    async def async_body() -> None:
        sessions["async-body"] = here()
        raise ValueError("async")

    @agentops.trace(name="gen-body")
    def gen_body() -> Generator[int, None, None]:
        sessions["gen-body"] = here()
        yield 1
        raise ValueError("after a step")

    inner = traced("inner", raise_value_error)

    @agentops.agent
    def runner() -> None:
        inner()

    cases = {
        "body": traced("body", raise_value_error),
        "tool": traced("tool", failing_step),
        "legacy": traced("legacy", legacy),
        "outer": traced("outer", runner),
        "interrupted": traced("interrupted", lambda: (_ for _ in ()).throw(KeyboardInterrupt)),
    }
    for job in cases.values():
        with pytest.raises((Exception, KeyboardInterrupt)):
            job()
    with pytest.raises(ValueError):
        asyncio.run(async_body())
    with pytest.raises(ValueError):
        list(gen_body())
    agentops.flush()

    def errors(name: str) -> list[tuple[str, str | None, str | None]]:
        events = wire.events_of(str(sessions[name]))
        by_id = {e["id"]: e for e in events}
        return [
            (e["error_type"], e["details"], by_id.get(e["trigger_event_id"], {}).get("name"))
            for e in events
            if e["event_type"] == "errors"
        ]

    assert errors("body") == [("ValueError", "in the body", None)]
    assert errors("tool") == [("RuntimeError", "in a tool", "failing_step")]
    assert [e[0] for e in errors("legacy")] == ["KeyError"]
    assert errors("async-body") == [("ValueError", "async", None)]
    assert errors("gen-body") == [("ValueError", "after a step", None)]
    assert errors("inner") == [("ValueError", "in the body", None)]
    assert errors("outer") == []  # recorded in the inner trace: not again by runner
    assert errors("interrupted") == []  # a KeyboardInterrupt is no error (as in a call)
    failed = [s for s in wire.sessions.values() if s.get("name") == "body"]
    assert failed[0]["end_state"] == "Indeterminate"  # as 0.4.21 ends it


def test_a_trace_ended_without_waiting_has_its_cost_once_the_server_answered() -> None:
    transport = InMemoryTransport(token_cost="0.25")
    agentops.init(
        api_key=KEY, transport=transport, auto_start_session=False, instrument_llm_calls=False
    )
    ctx = started("priced")
    assert ctx.session.get_analytics()["Cost"] == "0.00"  # running: priced at its end
    agentops.end_trace(ctx, "Success")
    assert agentops.flush()
    assert ctx.session.get_analytics()["Cost"] == "0.250000"


def test_end_trace_forms(wire: InMemoryTransport, agentops_log: LogLines) -> None:
    first = agentops.start_trace("first")
    second = agentops.start_trace("second")
    assert first is not None and second is not None
    agentops.end_trace(second.session, TraceState.ERROR)  # a Session works too
    agentops.end_trace("not a context")  # type: ignore[arg-type]
    assert "expects the TraceContext" in agentops_log.text
    agentops.end_trace()  # every trace still running
    agentops.flush()
    states = {s.get("name"): s["end_state"] for s in wire.sessions.values()}
    assert states == {"first": "Success", "second": "Fail"}


class EndWatcher(InMemoryTransport):
    """Notes, as each session update arrives, which of `watched` were still running."""

    def __init__(self) -> None:
        super().__init__()
        self.watched: list[agentops.Session] = []
        self.running_at_updates: list[list[bool]] = []

    def send(self, request: Request) -> Response:
        if request.path == UPDATE_SESSION:
            self.running_at_updates.append([s.is_running for s in self.watched])
        return super().send(request)


def test_end_trace_of_every_trace_ends_them_all_before_waiting() -> None:
    """end_trace() used to end one session, wait up to flush_timeout for it, then the next:
    later sessions ended (and were timed) one whole wait too late each. (It waits for none
    now: the ends are queued, and sent by the worker.)"""
    watcher = EndWatcher()
    agentops.init(
        api_key=KEY, transport=watcher, auto_start_session=False, instrument_llm_calls=False
    )
    for name in ("a", "b", "c", "d"):
        ctx = agentops.start_trace(name)
        assert ctx is not None
        watcher.watched.append(ctx.session)
    agentops.end_trace(end_state="Fail")
    assert agentops.flush()
    assert len(watcher.running_at_updates) == 4
    assert watcher.running_at_updates[0] == [False] * 4  # every one ended before any was sent
    states = {s.get("name"): s["end_state"] for s in watcher.sessions.values()}
    assert states == {"a": "Fail", "b": "Fail", "c": "Fail", "d": "Fail"}


def test_update_trace_metadata(wire: InMemoryTransport, agentops_log: LogLines) -> None:
    assert agentops.update_trace_metadata({"k": "v"}) is False  # no trace running
    with started("meta") as ctx:
        assert agentops.update_trace_metadata(
            {"stage": "eval", "n": 3, "scores": [1, 2.5], "tags": ["a", "b"], "skip": None}
        )
        assert not agentops.update_trace_metadata({"obj": object()})
        assert agentops.update_trace_metadata({"tags": ["c"]})
    agentops.flush()
    session = wire.sessions[str(ctx.session.session_id)]
    assert session["metadata"] == {"stage": "eval", "n": 3, "scores": [1, 2.5]}
    assert session["tags"] == ["c"]
    assert "Skipping metadata key 'obj'" in agentops_log.text


def test_start_trace_before_init_does_nothing(agentops_log: LogLines) -> None:
    """No API key or no init(): the SDK does nothing, and neither does the trace API, which
    the program still uses as it would (agentops 0.4's None made `with` raise TypeError)."""
    early = agentops.start_trace("early")
    assert not early  # falsy, as 0.4's None
    assert "not initialized" in agentops_log.text
    with agentops.start_trace("in a with block") as ctx:
        assert ctx.span.get_span_context().trace_id == 0 and not ctx.span.is_recording()
        ctx.span.set_attribute("k", "v")
    with pytest.raises(ValueError, match="the program's own"), agentops.start_trace("raising"):
        raise ValueError("the program's own error goes through")
    agentops.end_trace(early, "Success")
    assert "expects the TraceContext" not in agentops_log.text


class Status(enum.Enum):  # shaped like opentelemetry.trace.StatusCode
    UNSET = 0
    OK = 1
    ERROR = 2


class Other(enum.Enum):
    DONE = "done"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EndState.FAIL, (EndState.FAIL, None)),
        (TraceState.SUCCESS, (EndState.SUCCESS, None)),
        (Status.ERROR, (EndState.FAIL, None)),
        (Status.OK, (EndState.SUCCESS, None)),
        (Other.DONE, (EndState.INDETERMINATE, "DONE")),
        ("Success", (EndState.SUCCESS, None)),
        ("error", (EndState.FAIL, None)),
        ("ok", (EndState.SUCCESS, None)),
        ("unset", (EndState.INDETERMINATE, None)),
        ("half-done", (EndState.INDETERMINATE, "half-done")),
        ("", (EndState.INDETERMINATE, None)),
    ],
)
def test_end_states_0_4_accepts(value: Any, expected: tuple[EndState, str | None]) -> None:
    assert parse_end_state(value) == expected


def test_tags_0_4_accepts() -> None:
    assert tag_list(None) == []
    assert tag_list({"team": "a", "n": 1}) == ["team:a", "n:1"]
    assert tag_list("solo") == ["solo"]
    assert tag_list(["a", 2]) == ["a", "2"]
    assert tag_list(("x",)) == ["x"]
    assert tag_list(42) == []
