"""The unmodified agentops==0.4.21 client (its own virtualenv, OpenTelemetry 1.36) against a
real `agentops serve`, on SQLite and PostgreSQL: every session it makes is checked through the
export API. Its OpenAI calls go to the fake provider on loopback."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.support.fake_providers import (
    CHAT_COMPLETION,
    CHAT_PROMPT,
    RESP_INPUT,
    RESP_OUTPUT,
    RESPONSE_MODELS,
)
from tests.support.otel_clients import (
    AGENTOPS04_PYTHON,
    all_events,
    assert_tree,
    client_python,
    ended_with,
    event_name,
    expected_cost,
    parent_of,
    run_client,
    wait_for_export,
)

pytestmark = pytest.mark.slow

MODEL = RESPONSE_MODELS["gpt-4o-mini"]  # the provider's answer names the dated snapshot
TOOL_COST = Decimal("0.01")  # @tool(cost=0.01)


@pytest.fixture(scope="module", autouse=True)
def python04() -> Path:
    """Every test here needs it: checked before the module's servers start."""
    return client_python(AGENTOPS04_PYTHON)


def run04(stack: Stack, python: Path, scenario: str, **env: str) -> dict[str, Any]:
    server = stack.server
    args = (scenario, server.url, server.api_key, stack.fake.openai_url)
    return run_client(python, stack.workdir, "agent04.py", *args, extra_env=env)


@pytest.fixture(scope="module")
def traces(python04: Path, stack: Stack) -> dict[str, Any]:
    """auto_start_session=False: one trace per start_trace/start_session (agent04.py)."""
    return run04(stack, python04, "traces")


@pytest.fixture(scope="module")
def auto(python04: Path, stack: Stack) -> dict[str, Any]:
    """auto_start_session=True: one trace for the whole process, exported gzip-compressed."""
    return run04(stack, python04, "auto", OTEL_EXPORTER_OTLP_TRACES_COMPRESSION="gzip")


@pytest.fixture(scope="module")
def immediate(python04: Path, stack: Stack) -> dict[str, Any]:
    """A trace ended right after init(), before the SDK has its token."""
    return run04(stack, python04, "immediate")


def one(export: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """The single event of `kind` named `name` (an action may be named with its span kind,
    "run" or "run.task")."""
    found = [
        e
        for e in all_events(export)
        if e["event_type"] == kind and event_name(e).split(".")[0] == name
    ]
    assert len(found) == 1, f"{len(found)} {kind} named {name}: {[event_name(e) for e in found]}"
    return found[0]


def assert_priced_chat(llm: dict[str, Any]) -> None:
    """One chat completion as agentops 0.4.21 reports it: no cached tokens (it drops them)."""
    assert llm["model"] == MODEL
    assert (llm["prompt_tokens"], llm["completion_tokens"]) == (CHAT_PROMPT, CHAT_COMPLETION)
    assert llm["cost_source"] == "computed"
    assert Decimal(llm["cost"]) == expected_cost(MODEL, CHAT_PROMPT, CHAT_COMPLETION)


# --- start_trace / end_trace ------------------------------------------------------------------
def test_a_trace_ended_success_is_a_successful_session(
    stack: Stack, traces: dict[str, Any]
) -> None:
    server = stack.server
    export = wait_for_export(server, traces["ok"], ended_with(1))
    session, stats = export["session"], export["stats"]
    assert session["id"] == traces["ok"] and session["project_id"] == server.project_id
    assert session["name"] == "ok_trace"
    assert session["end_state"] == "Success"
    assert sorted(session["tags"]) == ["e2e", "ok"]
    assert stats["event_counts"] == {"llms": 0, "tools": 0, "actions": 1, "errors": 0}
    assert stats["cost"] == "0" and stats["duration"] > 0
    (action,) = export["actions"]
    assert action["action_type"].split(".")[0] == "plan_step"
    assert action["parent_id"] is None  # its parent is the root, the session itself
    assert_tree(export)
    assert server.stats(traces["ok"]).json() == stats


def test_a_workflow_of_agents_tasks_tools_and_openai_calls_is_exported_as_its_tree(
    stack: Stack, traces: dict[str, Any]
) -> None:
    # ResearchAgent (class) > run (@operation) > plan_step, named_task (@task version=2),
    # get_weather (@tool cost=0.01), chat, chat with tools, streamed chat;
    # crasher (@agent function) > explode (@task) > failing_tool (raises); end_trace "Fail"
    export = wait_for_export(stack.server, traces["workflow"], ended_with(12))
    session, stats = export["session"], export["stats"]
    assert session["name"] == "workflow_trace"
    assert session["end_state"] == "Fail"
    assert sorted(session["tags"]) == ["e2e", "workflow"]

    by_id = assert_tree(export)
    agent_event = one(export, "actions", "ResearchAgent")
    run = one(export, "actions", "run")
    crasher = one(export, "actions", "crasher")
    explode = one(export, "actions", "explode")
    get_weather = one(export, "tools", "get_weather")
    failing_tool = one(export, "tools", "failing_tool")
    assert agent_event["parent_id"] is None and crasher["parent_id"] is None
    assert parent_of(by_id, run) == agent_event
    for name in ("plan_step", "named_task"):
        assert parent_of(by_id, one(export, "actions", name)) == run
    assert parent_of(by_id, get_weather) == run
    assert parent_of(by_id, explode) == crasher
    assert parent_of(by_id, failing_tool) == explode

    agents = {a["name"]: a for a in export["agents"]}
    assert sorted(agents) == ["ResearchAgent", "crasher"]
    assert all(a["session_id"] == session["id"] for a in agents.values())
    research_id, crasher_id = agents["ResearchAgent"]["id"], agents["crasher"]["id"]
    assert research_id != crasher_id
    for event in [run, get_weather, *export["llms"], one(export, "actions", "plan_step")]:
        assert event["agent_id"] == research_id, event_name(event)
    for event in (explode, failing_tool):
        assert event["agent_id"] == crasher_id, event_name(event)

    assert Decimal(get_weather["cost"]) == TOOL_COST
    assert "Paris" in str(get_weather["params"]) and "21" in str(get_weather["returns"])

    assert len(export["llms"]) == 3
    for llm in export["llms"]:
        assert parent_of(by_id, llm) == run
        assert_priced_chat(llm)
    assert any("Say hi" in str(llm["prompt"]) for llm in export["llms"])
    # the plain and the streamed chat answer text; the third answers with a tool call
    assert sum("Hello world" in str(llm["completion"]) for llm in export["llms"]) == 2

    counts = stats["event_counts"]
    assert (counts["llms"], counts["tools"], counts["errors"]) == (3, 2, 1)
    # 6 actions: 2 agents, run, plan_step, named_task, explode; the model's tool-call request
    # (0.4.21's tool_call.get_weather span) may be a 7th or part of its LLM event
    assert counts["actions"] in (6, 7)
    assert stats["events"] == sum(counts.values())
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (3 * 1200, 3 * 300)
    llm_cost = expected_cost(MODEL, CHAT_PROMPT, CHAT_COMPLETION)
    assert Decimal(stats["cost"]) == 3 * llm_cost + TOOL_COST
    assert stats["cost_complete"] is True


def test_a_tool_raising_through_task_and_agent_is_one_error_triggered_by_the_tool(
    stack: Stack, traces: dict[str, Any]
) -> None:
    export = wait_for_export(stack.server, traces["workflow"], ended_with(12))
    (error,) = export["errors"]
    failing_tool = one(export, "tools", "failing_tool")
    assert error["trigger_event_id"] == failing_tool["id"]
    assert error["trigger_event_type"] == "tools"
    assert "RuntimeError" in error["error_type"]
    assert "tool exploded" in str(error["details"])
    assert error["session_id"] == export["session"]["id"]


def test_legacy_start_session_and_end_session_keep_the_end_reason_and_tags(
    stack: Stack, traces: dict[str, Any]
) -> None:
    export = wait_for_export(stack.server, traces["legacy"], ended_with(2))
    session, stats = export["session"], export["stats"]
    assert session["end_state"] == "Fail"
    assert session["end_state_reason"] == "gave up"
    assert stats["end_state_reason"] == "gave up"
    assert sorted(session["tags"]) == ["legacy-1", "legacy-2"]
    assert stats["event_counts"] == {"llms": 2, "tools": 0, "actions": 0, "errors": 0}
    chat, response = sorted(export["llms"], key=lambda e: -int(e["prompt_tokens"]))
    assert chat["parent_id"] is None and response["parent_id"] is None
    assert_priced_chat(chat)
    # the Responses API call (openai < 1.92 keeps it instrumented); no cached tokens either
    assert response["model"] == MODEL
    assert (response["prompt_tokens"], response["completion_tokens"]) == (RESP_INPUT, RESP_OUTPUT)
    assert Decimal(response["cost"]) == expected_cost(MODEL, RESP_INPUT, RESP_OUTPUT)
    assert Decimal(stats["cost"]) == Decimal(chat["cost"]) + Decimal(response["cost"])


def test_a_session_has_the_metadata_its_program_gave_and_no_other(
    stack: Stack, traces: dict[str, Any]
) -> None:
    legacy = wait_for_export(stack.server, traces["legacy"], ended_with(2))
    assert legacy["session"]["metadata"] == {"custom_field": "abc"}  # end_session's kwargs
    # no update_trace_metadata, no end_session kwargs (the model's tool call id is no metadata
    # of the run)
    workflow = wait_for_export(stack.server, traces["workflow"], ended_with(12))
    assert workflow["session"]["metadata"] is None


def test_dict_tags_become_key_value_tags(stack: Stack, traces: dict[str, Any]) -> None:
    export = wait_for_export(stack.server, traces["dict_tags"], ended_with(0))
    assert sorted(export["session"]["tags"]) == ["env:test", "team:alpha"]
    assert export["session"]["end_state"] == "Success"
    assert export["stats"]["events"] == 0


def test_end_trace_with_its_default_end_state_is_indeterminate(
    stack: Stack, traces: dict[str, Any]
) -> None:
    """end_trace(ctx) defaults to an enum, which 0.4.21 never puts on the wire."""
    export = wait_for_export(stack.server, traces["default_end"], ended_with(0))
    assert export["session"]["end_state"] == "Indeterminate"
    assert export["session"]["end_timestamp"] is not None
    assert export["session"]["tags"] == ["e2e"]


def test_a_tool_and_an_openai_call_made_outside_any_trace_keep_their_cost(
    stack: Stack, traces: dict[str, Any]
) -> None:
    """With auto_start_session=False, a call outside start_trace is the root of a trace of
    its own: its session holds it as an event, with its tokens and cost."""
    server = stack.server
    export = wait_for_export(server, traces["outside_tool"], ended_with(1))
    assert export["session"]["name"] == "lookup" and export["session"]["end_state"] == "Success"
    (tool,) = export["tools"]
    assert tool["parent_id"] is None and Decimal(tool["cost"]) == Decimal("0.02")
    assert Decimal(export["stats"]["cost"]) == Decimal("0.02")
    listed = httpx.get(
        f"{server.url}/v2/sessions",
        params={"limit": "500"},
        headers={"X-Agentops-Api-Key": server.api_key},
        timeout=30,
    ).json()["data"]
    (chat_session,) = [s for s in listed if s["name"].startswith(MODEL)]
    export = wait_for_export(server, chat_session["id"], ended_with(1))
    assert export["session"]["end_state"] == "Success"
    (llm,) = export["llms"]
    assert_priced_chat(llm)
    assert Decimal(export["stats"]["cost"]) == Decimal(llm["cost"])


# --- auto_start_session=True ------------------------------------------------------------------
def test_auto_started_session_holds_the_legacy_session_and_ends_at_exit(
    stack: Stack, auto: dict[str, Any]
) -> None:
    # init(default_tags) > get_weather (@tool cost=0.01), start_session > chat, end_session;
    # the init trace's root ends at exit with "Shutdown"
    assert auto["legacy"] == auto["trace"]  # one trace id for everything
    export = wait_for_export(stack.server, auto["trace"], ended_with(3))
    session, stats = export["session"], export["stats"]
    assert session["name"] == "default"
    assert session["end_state"] == "Indeterminate"
    # init's default tags, and the legacy session's: in this trace it is part of the session
    assert sorted(session["tags"]) == ["auto-a", "auto-b", "inner"]
    by_id = assert_tree(export)
    nested = one(export, "actions", "session")  # the legacy session, a span in the trace
    (llm,) = export["llms"]
    assert parent_of(by_id, llm) == nested and nested["parent_id"] is None
    assert_priced_chat(llm)
    tool = one(export, "tools", "get_weather")
    assert tool["parent_id"] is None and Decimal(tool["cost"]) == TOOL_COST
    assert stats["event_counts"] == {"llms": 1, "tools": 1, "actions": 1, "errors": 0}
    assert Decimal(stats["cost"]) == Decimal(llm["cost"]) + TOOL_COST


def test_printed_lines_uploaded_at_the_init_trace_end_are_kept_with_its_session(
    stack: Stack, auto: dict[str, Any]
) -> None:
    """0.4.21 uploads what the program printed (POST /v4/logs/upload/, decimal Trace-Id)."""
    res = wait_for_export(stack.server, auto["trace"], ended_with(3))
    assert "hello from the agent" in str(res)
    assert "Error uploading logfile" not in auto["_stderr"], auto["_stderr"]


def test_a_trace_ended_right_after_init_is_kept_once_the_client_has_its_token(
    stack: Stack, immediate: dict[str, Any]
) -> None:
    """Its span is exported without a token (the auth request is still in flight); the
    init trace's root, exported at exit with the token, names the same trace."""
    assert immediate["quick"] == immediate["trace"]
    export = wait_for_export(stack.server, immediate["trace"], ended_with(1))
    session, stats = export["session"], export["stats"]
    assert session["project_id"] == stack.server.project_id
    assert session["name"] == "default" and session["end_state"] == "Indeterminate"
    quick = one(export, "actions", "quick")
    assert quick["parent_id"] is None
    assert stats["event_counts"] == {"llms": 0, "tools": 0, "actions": 1, "errors": 0}


def test_every_request_of_the_client_succeeded(
    traces: dict[str, Any], auto: dict[str, Any], immediate: dict[str, Any]
) -> None:
    """OTel's exporter and agentops log a refused export or upload on stderr."""
    for run in (traces, auto, immediate):
        for complaint in ("Failed to export", "Unexpected error", "Error uploading"):
            assert complaint not in run["_stderr"], run["_stderr"]
