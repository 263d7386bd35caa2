"""Several sessions at once: the current session follows contextvars, no ValueError traps."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

import agentops
from tests.sdk.conftest import export, init_only, start
from tests.support.server import ServerProcess


def actions_of(server: ServerProcess, session: agentops.Session) -> list[str]:
    return sorted(a["action_type"] for a in export(server, session.session_id)["actions"])


def test_asyncio_tasks_each_record_to_their_own_session(server: ServerProcess) -> None:
    init_only(server)

    @agentops.record_action("step")
    async def step(n: int) -> int:
        await asyncio.sleep(0)
        return n

    async def run_agent(name: str) -> agentops.Session:
        session = agentops.start_session(tags=[name])
        assert session is not None
        for i in range(3):
            await step(i)
            agentops.record(agentops.ActionEvent(action_type=f"{name}-{i}"))
        return session

    async def main() -> list[agentops.Session]:
        return list(await asyncio.gather(run_agent("a"), run_agent("b")))

    sessions = asyncio.run(main())
    for s in sessions:
        s.end_session("Success")
    a, b = sessions
    assert actions_of(server, a) == ["a-0", "a-1", "a-2", "step", "step", "step"]
    assert actions_of(server, b) == ["b-0", "b-1", "b-2", "step", "step", "step"]


def test_with_session_sets_the_current_session_in_threads(server: ServerProcess) -> None:
    init_only(server)
    first = agentops.start_session()
    second = agentops.start_session()
    assert first is not None and second is not None

    @agentops.record_tool("lookup")
    def lookup(q: str) -> str:
        return q.upper()

    def work(session: agentops.Session, label: str) -> None:
        with session:
            lookup(label)
            agentops.record(agentops.ActionEvent(action_type=label))

    threads = [
        threading.Thread(target=work, args=(first, "one")),
        threading.Thread(target=work, args=(second, "two")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not first.is_running and not second.is_running  # `with` ended them: Success
    one, two = export(server, first.session_id), export(server, second.session_id)
    assert [a["action_type"] for a in one["actions"]] == ["one"]
    assert [t["returns"] for t in two["tools"]] == ["TWO"]
    assert one["session"]["end_state"] == two["session"]["end_state"] == "Success"


def test_copy_context_threads_inherit_the_current_session(server: ServerProcess) -> None:
    init_only(server)
    other = agentops.start_session()
    mine = agentops.start_session()  # the current session of this context
    assert other is not None and mine is not None
    ctx = contextvars.copy_context()
    thread = threading.Thread(
        target=ctx.run, args=(agentops.record, agentops.ActionEvent(action_type="inherited"))
    )
    thread.start()
    thread.join(30)
    mine.end_session("Success")
    other.end_session("Success")
    assert actions_of(server, mine) == ["inherited"]
    assert actions_of(server, other) == []


def test_ambiguous_module_calls_warn_and_drop_never_raise(
    server: ServerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    init_only(server)
    a, b = agentops.start_session(), agentops.start_session()
    assert a is not None and b is not None

    @agentops.record_action("orphan")
    def orphan() -> str:
        return "ok"

    def no_context() -> None:  # a plain thread has an empty context: no current session
        assert orphan() == "ok"  # 0.3.26 raised ValueError here
        agentops.record(agentops.ActionEvent(action_type="dropped"))
        assert agentops.end_session("Success") is None
        orphan(session=b)  # type: ignore[call-arg]  # explicit session= still works

    t = threading.Thread(target=no_context)
    t.start()
    t.join(30)
    a.end_session("Success")
    b.end_session("Success")
    assert actions_of(server, a) == []
    assert actions_of(server, b) == ["orphan"]


def test_session_context_manager_records_failure_with_traceback(server: ServerProcess) -> None:
    init_only(server)
    session = agentops.start_session()
    assert session is not None
    with pytest.raises(RuntimeError, match="kaboom"):
        with session:
            raise RuntimeError("kaboom")
    data = export(server, session.session_id)["session"]
    assert data["end_state"] == "Fail"
    assert data["end_state_reason"].startswith("kaboom: Traceback (most recent call last)")
    assert "RuntimeError: kaboom" in data["end_state_reason"]


def test_many_threads_recording_into_one_session_lose_nothing(server: ServerProcess) -> None:
    session = start(server)

    def work(n: int) -> None:
        for i in range(1000):
            session.record(agentops.ActionEvent(action_type=f"t{n}", params={"i": i}))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    session.end_session("Success")
    counts = export(server, session.session_id)["stats"]["event_counts"]
    assert counts["actions"] == 8000
    assert session.get_analytics()["Actions"] == 8000
