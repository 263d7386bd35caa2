"""OTLP/HTTP ingestion against a real server: spans of agentops 0.4's shape (and generic GenAI
spans) become one session per trace, with the tree, costs, agents and errors a user reads in
the export API, whatever order and however often the spans arrive."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from agentops_server.config import ServerConfig
from agentops_server.sweeper import Sweeper
from tests.conftest import require
from tests.server.conftest import LiveServer, running
from tests.support.otlp import (
    SpanSpec,
    agentops_llm_span,
    agentops_session_span,
    agentops_tool_span,
    chat_trace,
    new_trace_id,
    session_of,
    trace_request,
)
from tests.support.postgres import fresh_database
from tests.support.server import free_port

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path: Any, postgres_ok: bool) -> Iterator[LiveServer]:
    """Every test here on a real server over each engine."""
    if request.param == "sqlite":
        config = ServerConfig.build(data_dir=tmp_path / "data", port=free_port(), environ={})
        with running(config) as server:
            yield server
        return
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        config = ServerConfig.build(
            data_dir=tmp_path / "data", database_url=url, port=free_port(), environ={}
        )
        with running(config) as server:
            yield server


# gpt-4o-mini at genai-prices' rates: 21 input, 7 output tokens
LLM_COST = Decimal("0.00000315") + Decimal("0.0000042")


def messages(role: str, text: str) -> str:
    """GenAI semconv messages as Python instrumentations send them: a JSON string."""
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def send(
    live: LiveServer, specs: list[SpanSpec], key: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {**PROTOBUF, "Authorization": f"Bearer {key or live.api_key}"}
    body = trace_request(specs, kw.pop("resource", None)).SerializeToString()
    return live.client.post(live.url + "/v1/traces", content=body, headers=headers)


def export(live: LiveServer, trace_id: str) -> dict[str, Any]:
    res = live.get(f"/v2/sessions/{session_of(trace_id)}/export")
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def found_by(live: LiveServer, text: str) -> list[str]:
    """The sessions a text search finds, as the REST listing answers it."""
    return [s["id"] for s in live.get("/v2/sessions", params={"text": text}).json()["data"]]


def workflow(trace_id: str) -> tuple[SpanSpec, list[SpanSpec]]:
    """A session span and, under it, a task holding an LLM call, a tool with a cost and a
    tool that raised through the task."""
    root = agentops_session_span(trace_id, "workflow_trace")
    task = SpanSpec(
        "run.task",
        trace_id,
        parent=root.span_id,
        start_ms=1,
        end_ms=50,
        status=2,
        status_message="RuntimeError: tool exploded",
        attributes={"agentops.span.kind": "task", "operation.name": "run"},
        events=[
            ("exception", {"exception.type": "RuntimeError", "exception.message": "tool exploded"})
        ],
    )
    failing = SpanSpec(
        "failing_tool.tool",
        trace_id,
        parent=task.span_id,
        start_ms=20,
        end_ms=21,
        status=2,
        status_message="RuntimeError: tool exploded",
        attributes={"agentops.span.kind": "tool", "operation.name": "failing_tool"},
        events=[
            ("exception", {"exception.type": "RuntimeError", "exception.message": "tool exploded",
                           "exception.stacktrace": "Traceback ...\nRuntimeError: tool exploded"}),
            ("exception", {"exception.type": "RuntimeError", "exception.message": "tool exploded"}),
        ],
    )  # fmt: skip
    children = [
        agentops_llm_span(trace_id, task.span_id, start_ms=2),
        agentops_tool_span(trace_id, task.span_id, cost=0.01, start_ms=10),
        failing,
        task,
    ]
    return root, children


def check_workflow(
    live: LiveServer, trace_id: str, root: SpanSpec, children: list[SpanSpec]
) -> None:
    body = export(live, trace_id)
    session, stats = body["session"], body["stats"]
    assert session["name"] == "workflow_trace"
    assert session["end_state"] == "Success" and session["end_timestamp"] is not None
    assert session["tags"] == ["alpha", "beta"]
    llm, tool, failing, task = children
    assert stats["event_counts"] == {"llms": 1, "tools": 2, "actions": 1, "errors": 1}
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (21, 7)
    assert Decimal(stats["cost"]) == LLM_COST + Decimal("0.01")
    (llm_row,) = body["llms"]
    assert llm_row["model"] == "gpt-4o-mini-2024-07-18" and llm_row["parent_id"] == task.span_id
    assert Decimal(llm_row["cost"]) == LLM_COST
    tools = {t["id"]: t for t in body["tools"]}
    assert Decimal(tools[tool.span_id]["cost"]) == Decimal("0.01")
    assert tools[tool.span_id]["returns"] == {"city": "Paris", "temp_c": 21}
    (task_row,) = body["actions"]
    assert task_row["id"] == task.span_id and task_row["parent_id"] is None
    (error,) = body["errors"]
    assert error["trigger_event_id"] == failing.span_id
    assert error["error_type"] == "RuntimeError" and error["details"] == "tool exploded"


def test_agentops_shaped_trace_becomes_one_session_with_its_tree(live: LiveServer) -> None:
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    res = send(live, [*children, root])
    assert res.status_code == 200 and res.headers["content-type"] == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(res.content).HasField("partial_success")
    check_workflow(live, trace_id, root, children)


@pytest.mark.parametrize("order", ["children-first", "root-first", "one-by-one-reversed"])
def test_every_arrival_order_gives_the_same_session(live: LiveServer, order: str) -> None:
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    batches = {
        "children-first": [children[:2], children[2:], [root]],
        "root-first": [[root], children],
        "one-by-one-reversed": [
            [s] for s in [children[2], children[3], children[0], children[1], root]
        ],
    }[order]
    for batch in batches:
        assert send(live, batch).status_code == 200
    check_workflow(live, trace_id, root, children)


def test_a_span_sent_twice_is_stored_and_counted_once(live: LiveServer) -> None:
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    for _ in range(2):
        assert send(live, [*children, root]).status_code == 200
    check_workflow(live, trace_id, root, children)


def agent_task_llm(trace_id: str, parent: str | None) -> tuple[SpanSpec, SpanSpec, SpanSpec]:
    """An agentops @agent (under `parent`, None for the root) > a task > an OpenAI call."""
    agent = SpanSpec(
        "ResearchAgent.agent", trace_id, parent=parent, start_ms=1, end_ms=60,
        attributes={"agentops.span.kind": "agent", "operation.name": "ResearchAgent"},
    )  # fmt: skip
    task = SpanSpec(
        "plan.task", trace_id, parent=agent.span_id, start_ms=2, end_ms=30,
        attributes={"agentops.span.kind": "task", "operation.name": "plan"},
    )  # fmt: skip
    return agent, task, agentops_llm_span(trace_id, task.span_id, start_ms=3)


def test_agent_spans_make_agents_and_their_subtree_carries_the_agent(live: LiveServer) -> None:
    trace_id = new_trace_id()
    root = agentops_session_span(trace_id)
    agent, task, llm = agent_task_llm(trace_id, root.span_id)
    # children first, in separate requests, as the exporter sends them
    for batch in ([llm], [task], [agent], [root]):
        assert send(live, batch).status_code == 200
    body = export(live, trace_id)
    assert body["agents"] == [
        {"id": agent.span_id, "session_id": session_of(trace_id), "name": "ResearchAgent"}
    ]
    assert body["llms"][0]["agent_id"] == agent.span_id
    actions = {a["id"]: a for a in body["actions"]}
    assert actions[task.span_id]["agent_id"] == agent.span_id
    assert actions[agent.span_id]["parent_id"] is None


def test_stacked_instrumentations_count_one_call_once(live: LiveServer) -> None:
    """agentops and another instrumentation both wrapping one OpenAI call."""
    trace_id = new_trace_id()
    root = agentops_session_span(trace_id)
    outer = agentops_llm_span(trace_id, root.span_id, start_ms=1)
    inner = agentops_llm_span(trace_id, outer.span_id, start_ms=1.5)
    inner.attributes = {
        **inner.attributes,
        "gen_ai.response.id": outer.attributes["gen_ai.response.id"],
    }
    for batch in ([inner], [outer, root]):
        assert send(live, batch).status_code == 200
    stats = export(live, trace_id)["stats"]
    assert (stats["prompt_tokens"], stats["event_counts"]["llms"]) == (21, 1)


def test_generic_genai_spans_end_by_the_root_status(live: LiveServer) -> None:
    trace_id = new_trace_id()
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}
    root = SpanSpec(
        "invoke_agent planner",
        trace_id,
        status=2,
        status_message="boom",
        attributes=agent,
        scope="my-app",
    )
    chat = SpanSpec(
        "chat gpt-4o-mini", trace_id, parent=root.span_id, kind=3, status=1, scope="genai",
        attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 21,
            "gen_ai.usage.output_tokens": 7,
            "gen_ai.input.messages": messages("user", "hi"),
        },
    )  # fmt: skip
    resource = {
        "service.name": "my-agent",
        "host.name": "box-1",
        "telemetry.sdk.language": "python",
    }
    assert send(live, [chat, root], resource=resource).status_code == 200
    body = export(live, trace_id)
    assert body["session"]["end_state"] == "Fail" and body["session"]["end_state_reason"] == "boom"
    assert body["session"]["host_env"]["host.name"] == "box-1"
    (llm,) = body["llms"]
    assert Decimal(llm["cost"]) == LLM_COST
    # a root that is an agent is an event and an agent too, the call nested under it
    assert llm["parent_id"] == root.span_id and llm["agent_id"] == root.span_id
    assert [a["name"] for a in body["agents"]] == ["planner"]
    (agent_event,) = body["actions"]
    assert agent_event["id"] == root.span_id and agent_event["parent_id"] is None
    assert [e["trigger_event_id"] for e in body["errors"]] == [root.span_id]


def test_otlp_json_with_hex_ids(live: LiveServer) -> None:
    trace_id = new_trace_id()
    request = {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "hand"}}]},
            "scopeSpans": [{"scope": {"name": "by-hand"}, "spans": [
                {"traceId": trace_id.upper(), "spanId": "00f067aa0ba902b7", "name": "main",
                 "kind": 1, "startTimeUnixNano": "1764000000000000000",
                 "endTimeUnixNano": 1764000001000000000, "status": {"code": 1}},
                {"traceId": trace_id, "spanId": "aaaaaaaaaaaaaaaa",
                 "parentSpanId": "00f067aa0ba902b7", "name": "step",
                 "startTimeUnixNano": "1764000000100000000",
                 "endTimeUnixNano": "1764000000200000000", "unknownField": 1},
            ]}],
        }]
    }  # fmt: skip
    res = live.client.post(
        live.url + "/v1/traces", json=request, headers={"X-Agentops-Api-Key": live.api_key}
    )
    assert res.status_code == 200 and res.json() == {}
    body = export(live, trace_id)
    assert body["session"]["name"] == "main" and body["session"]["end_state"] == "Success"
    assert body["session"]["init_timestamp"] == "2025-11-24T16:00:00+00:00"
    assert [(a["id"], a["action_type"], a["parent_id"]) for a in body["actions"]] == [
        ("aaaaaaaaaaaaaaaa", "step", None)
    ]


def test_gzip_and_deflate_bodies(live: LiveServer) -> None:
    import zlib

    for encoding, compress in (("gzip", gzip.compress), ("deflate", zlib.compress)):
        trace_id = new_trace_id()
        root, children = workflow(trace_id)
        raw = trace_request([*children, root]).SerializeToString()
        headers = {**PROTOBUF, "Content-Encoding": encoding, "X-Agentops-Api-Key": live.api_key}
        res = live.client.post(live.url + "/v1/traces", content=compress(raw), headers=headers)
        assert res.status_code == 200, res.text
        check_workflow(live, trace_id, root, children)


def test_token_less_agentops_spans_wait_for_their_token(live: LiveServer) -> None:
    """agentops 0.4 exports a trace ended right after init() before its token arrives."""
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    body = trace_request(children).SerializeToString()
    res = live.client.post(live.url + "/v1/traces", content=body, headers=PROTOBUF)
    assert res.status_code == 200
    assert live.get(f"/v2/sessions/{session_of(trace_id)}/stats").status_code == 404
    token = live.post("/v3/auth/token", {"api_key": live.api_key}).json()["token"]
    assert send(live, [root], key=token).status_code == 200
    check_workflow(live, trace_id, root, children)


def test_a_token_less_log_upload_waits_for_its_trace_token(live: LiveServer) -> None:
    """agentops 0.4 uploads its logfile when a trace ends, which may be before its token."""
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    header = {"Trace-Id": str(int(trace_id, 16))}
    held = live.post("/v4/logs/upload/", {"body": "early line"}, headers=header)
    assert held.status_code == 200, held.text
    assert live.client.post(
        live.url + "/v1/traces", content=trace_request(children).SerializeToString(),
        headers=PROTOBUF,
    ).status_code == 200  # fmt: skip
    assert live.store.list_session_logs(session_of(trace_id)) == []
    token = live.post("/v3/auth/token", {"api_key": live.api_key}).json()["token"]
    assert send(live, [root], key=token).status_code == 200
    check_workflow(live, trace_id, root, children)
    assert [log.body for log in live.store.list_session_logs(session_of(trace_id))] == [
        "early line"
    ]
    empty = live.post("/v4/logs/upload/", {"body": ""}, headers={"Trace-Id": "12345"})
    assert empty.status_code == 200 and live.store.pending_bytes() == 0  # nothing to keep
    late = live.post("/v4/logs/upload/", {"body": "intruder"}, headers=header)
    assert late.status_code == 401  # the session exists: only its project's key adds to it
    assert len(live.store.list_session_logs(session_of(trace_id))) == 1


def test_requests_without_a_valid_key_store_nothing(live: LiveServer) -> None:
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    body = trace_request([*children, root], resource={"service.name": "x"}).SerializeToString()
    res = live.client.post(live.url + "/v1/traces", content=body, headers=PROTOBUF)
    assert res.status_code == 401 and res.headers["content-type"] == "application/x-protobuf"
    assert b"missing API key" in res.content
    bad = {**PROTOBUF, "Authorization": "Bearer 00000000-0000-4000-8000-000000000000"}
    assert live.client.post(live.url + "/v1/traces", content=body, headers=bad).status_code == 401
    assert live.get(f"/v2/sessions/{session_of(trace_id)}/stats").status_code == 404


def test_another_projects_trace_is_refused_and_left_untouched(live: LiveServer) -> None:
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    assert send(live, [*children, root]).status_code == 200
    other = live.new_key(live.store.create_project("Other").id)
    costly = {"agentops.span.kind": "tool", "gen_ai.usage.total_cost": 99.0}
    intruder = SpanSpec("x.tool", trace_id, parent=root.span_id, attributes=costly)
    res = send(live, [intruder], key=other)
    assert res.status_code == 200
    partial = ExportTraceServiceResponse.FromString(res.content).partial_success
    assert partial.rejected_spans == 1 and "another project" in partial.error_message
    check_workflow(live, trace_id, root, children)


def test_bad_bodies_get_clear_errors_in_the_request_content_type(live: LiveServer) -> None:
    auth = {"X-Agentops-Api-Key": live.api_key}
    url = live.url + "/v1/traces"
    garbage = live.client.post(url, content=b"\xff\x00garbage", headers={**PROTOBUF, **auth})
    assert (
        garbage.status_code == 400 and garbage.headers["content-type"] == "application/x-protobuf"
    )
    bad_json = live.client.post(
        url, content=b"{nope", headers={"Content-Type": "application/json", **auth}
    )
    assert bad_json.status_code == 400 and bad_json.json()["code"] == 3
    wrong_type = live.client.post(url, content=b"x", headers={"Content-Type": "text/plain", **auth})
    assert wrong_type.status_code == 415
    huge = live.client.post(
        url, content=b"\x00" * (live.config.max_body_bytes + 1), headers={**PROTOBUF, **auth}
    )
    assert huge.status_code == 413


def test_agentops_auth_token_and_uploads(live: LiveServer) -> None:
    res = live.post("/v3/auth/token", {"api_key": live.api_key})
    assert res.status_code == 200
    body = res.json()
    assert body["project_id"] == live.project_id and body["token"]
    assert "project_prem_status" in body
    unknown = live.post("/v3/auth/token", {"api_key": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status_code == 401
    token = {"Authorization": f"Bearer {body['token']}"}
    trace_id = new_trace_id()
    logs = live.post("/v4/logs/upload/", {"body": "2026-12-03 10:00:00,000 - INFO - hello"},
                     headers={**token, "Trace-Id": str(int(trace_id, 16))})  # fmt: skip
    assert logs.status_code == 200
    assert [log.body for log in live.store.list_session_logs(session_of(trace_id))] == [
        "2026-12-03 10:00:00,000 - INFO - hello"
    ]
    uploaded = live.post("/v4/objects/upload/", {"body": "transcript"}, headers=token)
    assert uploaded.status_code == 200 and uploaded.json()["size"] == len("transcript")
    url = uploaded.json()["url"]
    assert live.client.get(url, headers=token).text == "transcript"
    other = live.new_key(live.store.create_project("Other").id)
    assert live.client.get(url, headers={"X-Agentops-Api-Key": other}).status_code == 404


def test_a_session_whose_root_never_arrives_is_closed_indeterminate(live: LiveServer) -> None:
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    assert send(live, children).status_code == 200  # the root never comes
    body = export(live, trace_id)
    assert body["session"]["end_timestamp"] is None
    later = datetime.now(UTC) + timedelta(seconds=live.config.session_inactivity_seconds + 1)
    assert Sweeper(live.store, live.config.session_inactivity_seconds).sweep_once(later) == 1
    session = export(live, trace_id)["session"]
    assert session["end_state"] == "Indeterminate" and session["auto_ended"] is True
    assert session["end_timestamp"] is not None


def test_a_root_that_arrives_after_the_session_was_closed_for_inactivity_ends_it(
    live: LiveServer,
) -> None:
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    assert send(live, children).status_code == 200
    later = datetime.now(UTC) + timedelta(seconds=live.config.session_inactivity_seconds + 1)
    assert Sweeper(live.store, live.config.session_inactivity_seconds).sweep_once(later) == 1
    assert export(live, trace_id)["session"]["end_state_reason"] is not None  # the sweeper's
    assert found_by(live, "no end received") == [session_of(trace_id)]  # a search finds it
    assert found_by(live, "workflow") == []  # the root brings the session's name
    assert send(live, [root]).status_code == 200  # a long pause, then the trace ends
    session = export(live, trace_id)["session"]
    assert (session["end_state"], session["end_state_reason"]) == ("Success", None)
    assert session["auto_ended"] is False
    check_workflow(live, trace_id, root, children)
    # a search matches what the session shows now: its name, not the reason it lost
    assert found_by(live, "no end received") == []
    assert found_by(live, "workflow") == found_by(live, "exploded") == [session_of(trace_id)]


def test_token_less_spans_cannot_join_an_existing_session(live: LiveServer) -> None:
    """Holding token-less spans is for the client's first exports only: once a trace's session
    exists, a request without a key adds nothing to it."""
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    assert send(live, [*children, root]).status_code == 200
    costly = {"agentops.span.kind": "tool", "gen_ai.usage.total_cost": 99.0}
    intruder = SpanSpec("x.tool", trace_id, parent=root.span_id, attributes=costly)
    body = trace_request([intruder]).SerializeToString()
    res = live.client.post(live.url + "/v1/traces", content=body, headers=PROTOBUF)
    assert res.status_code == 401
    assert send(live, [root]).status_code == 200  # an authenticated request of that trace
    check_workflow(live, trace_id, root, children)


def test_every_arrival_order_gives_the_llm_call_its_agent(live: LiveServer) -> None:
    """root -> agent -> task -> LLM call, the four spans in each of the 24 orders, one request
    each: the call and the task always carry the agent's id."""
    from itertools import permutations

    for order in permutations(("root", "agent", "task", "llm")):
        trace_id = new_trace_id()
        root = agentops_session_span(trace_id)
        agent = SpanSpec("planner.agent", trace_id, parent=root.span_id, start_ms=1, end_ms=90,
                         attributes={"agentops.span.kind": "agent",
                                     "operation.name": "planner"})  # fmt: skip
        task = SpanSpec("step.task", trace_id, parent=agent.span_id, start_ms=2, end_ms=80,
                        attributes={"agentops.span.kind": "task",
                                    "operation.name": "step"})  # fmt: skip
        llm = agentops_llm_span(trace_id, task.span_id, start_ms=3)
        spans = {"root": root, "agent": agent, "task": task, "llm": llm}
        for name in order:
            assert send(live, [spans[name]]).status_code == 200
        body = export(live, trace_id)
        (call,) = body["llms"]
        by_id = {event["id"]: event for event in body["actions"]}
        assert call["agent_id"] == agent.span_id, order
        assert by_id[task.span_id]["agent_id"] == agent.span_id, order


def test_an_outer_span_that_arrives_first_is_not_counted_twice(live: LiveServer) -> None:
    """Two instrumentations wrapping one LLM call, and one exception raised through two tools:
    the same tokens, cost and errors whichever of the two nested spans arrives first."""
    outcomes = []
    for outer_first in (False, True):
        trace_id = new_trace_id()
        root = agentops_session_span(trace_id)
        outer = agentops_llm_span(trace_id, root.span_id)
        inner = SpanSpec("chat gpt-4o-mini", trace_id, parent=outer.span_id, start_ms=2,
                         end_ms=5, kind=3, scope="opentelemetry.instrumentation.openai_v2",
                         attributes={"gen_ai.system": "openai", "gen_ai.operation.name": "chat",
                                     "gen_ai.request.model": "gpt-4o-mini",
                                     "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                                     "gen_ai.usage.input_tokens": 21,
                                     "gen_ai.usage.output_tokens": 7})  # fmt: skip
        failure = [("exception", {"exception.type": "ValueError", "exception.message": "boom"})]
        outer_tool = SpanSpec("outer.tool", trace_id, parent=root.span_id, start_ms=10,
                              end_ms=19, status=2, events=failure,
                              attributes={"agentops.span.kind": "tool",
                                          "operation.name": "outer"})  # fmt: skip
        inner_tool = SpanSpec("inner.tool", trace_id, parent=outer_tool.span_id, start_ms=11,
                              end_ms=18, status=2, events=failure,
                              attributes={"agentops.span.kind": "tool",
                                          "operation.name": "inner"})  # fmt: skip
        first, second = ([outer, outer_tool], [inner, inner_tool])
        for batch in (first, second) if outer_first else (second, first):
            assert send(live, batch).status_code == 200
        assert send(live, [root]).status_code == 200
        stats = export(live, trace_id)["stats"]
        outcomes.append(
            {k: stats[k] for k in ("prompt_tokens", "completion_tokens", "cost", "errors")}
            | {"llms": stats["event_counts"]["llms"]}
        )
    inner_first, outer_first_outcome = outcomes
    assert inner_first == outer_first_outcome
    assert inner_first["prompt_tokens"] == 21 and inner_first["completion_tokens"] == 7
    assert inner_first["llms"] == 1 and inner_first["errors"] == 1


def test_genai_messages_of_one_call_split_over_two_log_requests_are_all_kept(
    live: LiveServer,
) -> None:
    """A log batch may be cut between two messages of one call: both are kept, in order,
    whether the span came before or after them."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    def log_request(trace_id: str, span_id: str, event: str, content: str) -> bytes:
        request = ExportLogsServiceRequest()
        record = request.resource_logs.add().scope_logs.add().log_records.add()
        record.trace_id, record.span_id = bytes.fromhex(trace_id), bytes.fromhex(span_id)
        record.event_name = event
        kv = record.body.kvlist_value.values.add()
        kv.key, kv.value.string_value = "content", content
        return request.SerializeToString()

    headers = {**PROTOBUF, "X-Agentops-Api-Key": live.api_key}
    for span_first in (True, False):
        _, (chat, root) = chat_trace()
        trace_id = chat.trace_id
        if span_first:
            assert send(live, [chat, root]).status_code == 200
        for event, content in (
            ("gen_ai.system.message", "You are terse."),
            ("gen_ai.user.message", "Say hello"),
        ):
            body = log_request(trace_id, chat.span_id, event, content)
            res = live.client.post(live.url + "/v1/logs", content=body, headers=headers)
            assert res.status_code == 200, res.text
        if not span_first:
            assert send(live, [chat, root]).status_code == 200
        (llm,) = export(live, trace_id)["llms"]
        prompt = llm["prompt"]["messages"]  # the export's chatml shape
        assert [(m["role"], m["content"]) for m in prompt] == [
            ("system", "You are terse."),
            ("user", "Say hello"),
        ], span_first


def test_nul_characters_in_names_tags_and_values_are_dropped_on_every_engine(
    live: LiveServer,
) -> None:
    """PostgreSQL's text columns cannot hold NUL: a trace named with one used to be answered
    500 there, and lost; it is dropped from every string read, as the v2 body parser does."""
    trace_id = new_trace_id()
    root = agentops_session_span(trace_id, "tr\x00ace", **{"te\x00am": "al\x00pha"})
    agent = SpanSpec(
        "ag\x00ent.agent",
        trace_id,
        parent=root.span_id,
        status=2,
        status_message="Value\x00Error: no",
        attributes={"agentops.span.kind": "agent", "agent.name": "plan\x00ner", "k\x00ey": "v"},
    )
    tool = agentops_tool_span(trace_id, agent.span_id, cost=0.5)
    tool.attributes = {**tool.attributes, "operation.name": "look\x00up"}
    res = send(live, [tool, agent, root])
    assert res.status_code == 200, res.text
    body = export(live, trace_id)
    assert body["session"]["name"] == "trace"
    assert "team:alpha" in body["session"]["tags"]
    assert [t["name"] for t in body["tools"]] == ["lookup"]
    assert [(a["name"], a["id"]) for a in body["agents"]] == [("planner", agent.span_id)]
    (action,) = body["actions"]
    assert action["action_type"] == "planner"
    assert action["span"]["status_message"] == "ValueError: no"
    assert action["attributes"]["key"] == "v"
    (error,) = body["errors"]
    assert error["error_type"] == "ValueError" and error["details"] == "no"
    assert Decimal(body["stats"]["cost"]) == Decimal("0.5")

    json_trace = new_trace_id()
    request = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": json_trace, "spanId": "00f067aa0ba902b7", "name": "ma\u0000in",
         "startTimeUnixNano": "1764000000000000000", "endTimeUnixNano": "1764000001000000000",
         "attributes": [{"key": "note", "value": {"stringValue": "a\u0000b"}}]},
    ]}]}]}  # fmt: skip
    res = live.client.post(
        live.url + "/v1/traces", json=request, headers={"X-Agentops-Api-Key": live.api_key}
    )
    assert res.status_code == 200, res.text
    assert export(live, json_trace)["session"]["name"] == "main"


def test_a_call_made_outside_any_trace_keeps_its_tokens_and_cost(live: LiveServer) -> None:
    """An LLM call or tool that is the root of its trace (agentops' auto_start_session=False,
    openai-v2 with no span around the call, a thread pool that OTel context does not follow)
    is an event of its session, not only the session."""
    llm_trace, tool_trace, genai_trace = new_trace_id(), new_trace_id(), new_trace_id()
    llm = replace(agentops_llm_span(llm_trace, "0" * 16), parent=None)
    tool = replace(agentops_tool_span(tool_trace, "0" * 16, cost=0.25), parent=None)
    chat = SpanSpec(
        "chat gpt-4o-mini", genai_trace, kind=3, scope="opentelemetry.instrumentation.openai_v2",
        attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 21,
            "gen_ai.usage.output_tokens": 7,
        },
    )  # fmt: skip
    assert send(live, [llm, tool, chat]).status_code == 200
    for trace_id, span in ((llm_trace, llm), (genai_trace, chat)):
        body = export(live, trace_id)
        assert body["session"]["end_state"] == "Success"
        assert (body["stats"]["prompt_tokens"], body["stats"]["completion_tokens"]) == (21, 7)
        assert Decimal(body["stats"]["cost"]) == LLM_COST
        (row,) = body["llms"]
        assert row["id"] == span.span_id and row["parent_id"] is None
    body = export(live, tool_trace)
    assert [t["id"] for t in body["tools"]] == [tool.span_id]
    assert Decimal(body["stats"]["cost"]) == Decimal("0.25")


@pytest.mark.parametrize("order", ["children first", "root first"])
def test_an_agent_that_is_the_root_is_the_agent_of_what_runs_below_it(
    live: LiveServer, order: str
) -> None:
    trace_id = new_trace_id()
    agent, task, llm = agent_task_llm(trace_id, None)
    tool = agentops_tool_span(trace_id, agent.span_id, cost=0.5, start_ms=40)
    batches = [[llm], [task, tool], [agent]]
    for batch in batches if order == "children first" else batches[::-1]:
        assert send(live, batch).status_code == 200
    body = export(live, trace_id)
    assert body["session"]["name"] == "ResearchAgent"
    assert body["session"]["end_state"] == "Success"  # by the root's status: it did not fail
    assert [a["id"] for a in body["agents"]] == [agent.span_id]
    assert body["stats"]["event_counts"] == {"llms": 1, "tools": 1, "actions": 2, "errors": 0}
    assert Decimal(body["stats"]["cost"]) == LLM_COST + Decimal("0.5")
    rows = {r["id"]: r for r in [*body["llms"], *body["tools"], *body["actions"]]}
    assert {i: (r["parent_id"], r["agent_id"]) for i, r in rows.items()} == {
        agent.span_id: (None, agent.span_id),
        task.span_id: (agent.span_id, agent.span_id),
        llm.span_id: (task.span_id, agent.span_id),
        tool.span_id: (agent.span_id, agent.span_id),
    }


def test_held_spans_survive_a_refused_request_of_their_trace(live: LiveServer) -> None:
    """The first authenticated request naming a trace takes its held (token-less) spans; if
    that request is refused, they are held again for the next one, not lost."""
    trace_id = new_trace_id()
    root, children = workflow(trace_id)
    early = trace_request(children).SerializeToString()
    res = live.client.post(live.url + "/v1/traces", content=early, headers=PROTOBUF)
    assert res.status_code == 200  # held
    # this request's own tools would take the session's cost past what can be stored
    costly = [
        agentops_tool_span(trace_id, root.span_id, cost=1e6, start_ms=60 + i) for i in range(4700)
    ]
    res = send(live, costly)
    assert res.status_code == 400 and "nothing was stored" in res.text
    assert send(live, [root]).status_code == 200
    check_workflow(live, trace_id, root, children)
