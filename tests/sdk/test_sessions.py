"""Sessions against a real `agentops serve`: what the server stored is what the user recorded."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest

import agentops
from tests.sdk.conftest import (
    LogLines,
    export,
    init_only,
    run_script,
    script_env,
    start,
    stats,
)
from tests.support.server import ServerProcess


def test_init_record_end_round_trip(server: ServerProcess) -> None:
    session = start(server, default_tags=["t-default"], tags=None)
    agentops.record(agentops.ActionEvent(action_type="agent-think", params={"q": "hello"}))
    agentops.record(agentops.ToolEvent(name="web-search", params={"k": 3}, returns=["r1", "r2"]))
    agentops.record(
        agentops.LLMEvent(
            model="gpt-4o-mini",
            prompt=[{"role": "user", "content": "hi"}],
            completion={"role": "assistant", "content": "hello"},
            prompt_tokens=5,
            completion_tokens=7,
        )
    )
    cost = agentops.end_session("Success", end_state_reason="all good")
    assert isinstance(cost, Decimal)
    data = export(server, session.session_id)
    assert data["session"]["end_state"] == "Success"
    assert data["session"]["end_state_reason"] == "all good"
    assert data["session"]["tags"] == ["t-default"]
    assert [a["action_type"] for a in data["actions"]] == ["agent-think"]
    assert data["actions"][0]["params"] == {"q": "hello"}
    assert data["tools"][0]["name"] == "web-search"
    assert data["tools"][0]["returns"] == ["r1", "r2"]
    llm = data["llms"][0]
    assert (llm["model"], llm["prompt_tokens"], llm["completion_tokens"]) == ("gpt-4o-mini", 5, 7)
    assert llm["completion"]["messages"] == {"role": "assistant", "content": "hello"} or llm[
        "completion"
    ]["messages"] == [{"role": "assistant", "content": "hello"}]
    assert stats(server, session.session_id)["event_counts"] == {
        "llms": 1,
        "tools": 1,
        "actions": 1,
        "errors": 0,
    }
    # The returned cost is the server's priced total for the session.
    server_cost = stats(server, session.session_id)["cost"]
    assert cost == Decimal(server_cost or "0")
    assert cost > 0


def test_session_end_returns_cost_and_second_end_is_none(server: ServerProcess) -> None:
    session = start(server)
    assert isinstance(session.end_session("Fail", "broke"), Decimal)
    assert session.end_session("Success") is None
    assert export(server, session.session_id)["session"]["end_state"] == "Fail"


def test_unpriced_calls_are_never_a_silent_zero_cost(
    server: ServerProcess, agentops_log: LogLines
) -> None:
    priced = start(server)
    priced.record(agentops.LLMEvent(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=5))
    cost = priced.end_session("Success")
    assert cost is not None and cost > 0 and priced.cost_complete is True
    assert "unpriced" not in agentops_log.text
    agentops_log.lines.clear()
    unpriced = start(server)
    unpriced.record(
        agentops.LLMEvent(model="my-private-finetune", prompt_tokens=1000, completion_tokens=5)
    )
    unpriced.record(agentops.LLMEvent(model="gpt-4o-mini"))  # tokens unknown
    assert unpriced.end_session("Success") == 0
    assert unpriced.cost_complete is False
    assert "some LLM calls could not be priced" in agentops_log.text
    assert "Cost: $0.00 (some LLM calls unpriced)" in agentops_log.text


def test_an_end_the_server_did_not_confirm_has_an_unknown_cost_not_zero(
    server: ServerProcess, agentops_log: LogLines
) -> None:
    session = start(server, flush_timeout=0.5)
    session.record(agentops.LLMEvent(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=5))
    assert agentops.flush(30)
    server.stop()  # the end update gets no answer (the worker retries it in the background)
    assert session.end_session("Success") is None
    (line,) = [line for line in agentops_log.lines if "Session Stats" in line]
    assert "| Cost: unknown (the server did not confirm the end) | LLMs: 1 |" in line
    assert "$" not in line  # it said "Cost: $0.00", as if the run had been free
    assert session.get_analytics()["Cost"] == "unknown"  # it said "0.00" too


def test_invalid_end_state_keeps_the_session_running(server: ServerProcess) -> None:
    session = start(server)
    assert session.end_session("Done") is None
    assert session.is_running
    assert session.end_session("Failure") is not None  # the docs' spelling
    assert export(server, session.session_id)["session"]["end_state"] == "Fail"


def test_get_analytics_has_agentops_keys_and_no_side_effects(server: ServerProcess) -> None:
    session = start(server)
    session.record(agentops.ActionEvent(action_type="a"))
    session.record(agentops.ErrorEvent(error_type="E"))
    assert agentops.flush()
    before = export(server, session.session_id)["session"]
    analytics = session.get_analytics()
    assert set(analytics) == {"LLM calls", "Tool calls", "Actions", "Errors", "Duration", "Cost"}
    assert analytics["Actions"] == 1 and analytics["Errors"] == 1
    assert str(analytics["Duration"]).endswith("s") and analytics["Cost"] == "0.00"
    assert session.end_timestamp is None  # not frozen (0.3.26 froze it)
    assert export(server, session.session_id)["session"] == before  # nothing was sent


def test_tags_add_and_set_keep_order(server: ServerProcess) -> None:
    session = start(server, default_tags=["b", "a"])
    agentops.add_tags(["c", "a"])
    assert session.tags == ["b", "a", "c"]
    agentops.end_session("Success")
    assert export(server, session.session_id)["session"]["tags"] == ["b", "a", "c"]
    second = agentops.start_session(tags=["x"])
    assert second is not None
    agentops.set_tags(["z", "y"])
    second.end_session("Success")
    assert export(server, second.session_id)["session"]["tags"] == ["z", "y"]


def test_get_session_by_str_or_uuid_and_end_all(server: ServerProcess) -> None:
    first = start(server)
    second = agentops.start_session()
    third = agentops.start_session()
    assert second is not None and third is not None
    assert agentops.get_session(str(first.session_id)) is first
    assert agentops.get_session(second.session_id) is second
    assert agentops.get_session("not-an-id") is None
    agentops.end_all_sessions()
    for s in (first, second, third):  # every one (0.3.26 skipped every other one)
        assert not s.is_running
        assert export(server, s.session_id)["session"]["end_state"] == "Indeterminate"


def test_create_agent_before_and_during_a_session(server: ServerProcess) -> None:
    early = agentops.create_agent("queued")  # NoopClient before init: nothing to queue into
    assert early is None
    agentops.init(
        api_key=server.api_key,
        endpoint=server.url,
        auto_start_session=False,
        instrument_llm_calls=False,
    )
    pending = agentops.create_agent("planner")
    started = agentops.start_session()
    assert started is not None
    during = started.create_agent("critic")
    started.record(agentops.ActionEvent(action_type="plan", agent_id=pending))
    started.end_session("Success")
    data = export(server, started.session_id)
    assert {(a["id"], a["name"]) for a in data["agents"]} == {
        (pending, "planner"),
        (during, "critic"),
    }
    assert data["actions"][0]["agent_id"] == pending


def test_start_session_with_its_own_configuration(server: ServerProcess, tmp_path: Path) -> None:
    other = ServerProcess(data_dir=tmp_path / "other").start()
    try:
        start(server)
        config = agentops.Configuration(api_key=other.api_key, endpoint=other.url)
        mine = agentops.start_session(config=config, tags=["elsewhere"])
        assert mine is not None
        mine.record(agentops.ActionEvent(action_type="there"))
        mine.end_session("Success")
        assert export(other, mine.session_id)["actions"][0]["action_type"] == "there"
        assert server.export(str(mine.session_id)).status_code == 404
    finally:
        other.stop()


def test_inherited_session_from_another_process(server: ServerProcess, tmp_path: Path) -> None:
    parent = start(server)
    parent.record(agentops.ActionEvent(action_type="parent-step"))
    assert agentops.flush()
    child = run_script(
        tmp_path,
        f"""
        import agentops
        s = agentops.init(inherited_session_id="{parent.session_id}")
        assert s is not None and str(s.session_id) == "{parent.session_id}"
        agentops.record(agentops.ActionEvent(action_type="child-step"))
        agentops.flush()
        """,
        env=script_env(server),
    )
    assert child.returncode == 0, child.stderr
    parent.end_session("Success")
    data = export(server, parent.session_id)
    assert sorted(a["action_type"] for a in data["actions"]) == ["child-step", "parent-step"]
    assert data["session"]["end_state"] == "Success"


def test_a_child_that_exits_after_its_parent_ended_the_session_leaves_its_end_alone(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The process that re-attached to a session does not own it: its exit (or crash) does
    not end it again, which overwrote the owner's Success with Indeterminate."""
    parent = start(server)
    parent.end_session("Success")
    for i, ending in enumerate(("", 'raise RuntimeError("the child failed")')):
        child = run_script(
            tmp_path,
            f"""
            import agentops
            agentops.init(inherited_session_id="{parent.session_id}")
            agentops.record(agentops.ActionEvent(action_type="child-step-{i}"))
            {ending}
            """,
            env=script_env(server),
        )
        assert child.returncode == (1 if ending else 0), child.stderr
    data = export(server, parent.session_id)
    assert sorted(a["action_type"] for a in data["actions"]) == ["child-step-0", "child-step-1"]
    assert (data["session"]["end_state"], data["session"]["end_state_reason"]) == ("Success", None)


def test_inherited_session_id_must_be_a_uuid(server: ServerProcess) -> None:
    init_only(server)
    assert agentops.start_session(inherited_session_id="nope") is None
    same = agentops.start_session(inherited_session_id=uuid.uuid4())
    assert same is not None


def test_init_again_keeps_the_running_session(server: ServerProcess) -> None:
    first = start(server)
    again = start(server)
    assert again is first
    first.end_session("Success")
    fresh = start(server)
    assert fresh is not first and fresh.is_running


def test_init_again_with_other_settings_keeps_the_running_session(
    server: ServerProcess, agentops_log: LogLines
) -> None:
    """A notebook cell re-run with edited arguments: the running session goes on (docs/sdk.md),
    nothing is orphaned, and the user is told the new settings wait for the session's end."""
    first = start(server, default_tags=["a"])
    again = start(server, default_tags=["b"])
    assert again is first
    assert agentops.get_client().sessions == [first]
    assert "called again with other settings" in agentops_log.text
    first.record(agentops.ActionEvent(action_type="after-re-init"))
    assert agentops.end_session("Success") is not None
    stored = export(server, first.session_id)
    assert stored["session"]["end_state"] == "Success"
    assert stored["session"]["tags"] == ["a"]
    fresh = start(server, default_tags=["b"])  # once it ended, the new settings apply
    assert fresh is not first and fresh.tags == ["b"]


def test_session_url_points_at_the_configured_server(server: ServerProcess) -> None:
    session = start(server)
    assert session.session_url == f"{server.url}/sessions/{session.session_id}"


def test_session_url_is_the_page_the_server_names_once_it_created_the_session(
    tmp_path: Path, agentops_log: LogLines
) -> None:
    """A server behind a proxy (AGENTOPS_PUBLIC_URL) names its sessions' pages at its public
    address: the SDK links there, not to the address it reaches the server by."""
    public = "https://agentops.example.com"
    proxied = ServerProcess(data_dir=tmp_path, extra_env={"AGENTOPS_PUBLIC_URL": public})
    proxied.start()
    try:
        session = start(proxied)
        assert session.session_url == f"{proxied.url}/sessions/{session.session_id}"  # not yet
        session.record(agentops.ActionEvent(action_type="step"))
        assert session.end_session("Success") is not None  # created and ended on the server
        page = f"{public}/sessions/{session.session_id}"
        assert session.session_url == page
        assert f"Session Replay: {page}" in agentops_log.text
    finally:
        proxied.stop()


def test_record_rejects_non_events_without_raising(server: ServerProcess) -> None:
    session = start(server)
    session.record("not an event")  # type: ignore[arg-type]
    agentops.record(42)  # type: ignore[type-var]
    assert sum(session.event_counts.values()) == 0


def test_configure_is_locked_while_sessions_run(server: ServerProcess) -> None:
    start(server)
    agentops.configure(max_wait_time=1)
    assert agentops.get_client().config.max_wait_time != 1
    agentops.end_session("Success")
    agentops.configure(max_wait_time=1)
    assert agentops.get_client().config.max_wait_time == 1
    agentops.set_parent_key(str(uuid.uuid4()))
    assert agentops.get_api_key() == server.api_key


@pytest.mark.parametrize("skip", [True, False])
def test_skip_auto_end_session(server: ServerProcess, skip: bool) -> None:
    session = start(server, skip_auto_end_session=skip)
    agentops.end_session("Success", is_auto_end=True)
    assert session.is_running is skip
