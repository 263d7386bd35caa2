"""agentops 0.4 programs that start, configure and import: the names 0.4.21 exports (and the
modules it keeps them in) exist here, its settings and environment variables are read, and
what it stores on our server (tags, the init trace's name) is stored here too."""

from __future__ import annotations

import enum
import importlib
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import agentops
from tests.sdk.conftest import export, init_only
from tests.support.otel_clients import AGENTOPS04_PYTHON, client_env, client_python
from tests.support.server import ServerProcess

SEMCONV_MODULES = (
    "agent",
    "core",
    "enum",
    "instrumentation",
    "langchain",
    "message",
    "meters",
    "resource",
    "span_attributes",
    "span_kinds",
    "status",
    "tool",
    "workflow",
)

# What a module's classes hold: {class: {name: value}}, run by both interpreters.
_DUMP = """
import enum, importlib, inspect, json, sys
found = {}
for name in sys.argv[1:]:
    module = importlib.import_module(f"agentops.semconv.{name}")
    for cls in vars(module).values():
        if inspect.isclass(cls) and cls.__module__ == module.__name__:
            items = [(m.name, m.value) for m in cls] if issubclass(cls, enum.Enum) else [
                (k, v) for k, v in vars(cls).items() if not k.startswith("_")]
            found[f"{name}.{cls.__name__}"] = dict(items)
print(json.dumps(found, sort_keys=True))
print(importlib.import_module("agentops").__file__)
"""


def _semconv_here() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name in SEMCONV_MODULES:
        module = importlib.import_module(f"agentops.semconv.{name}")
        for cls in vars(module).values():
            if isinstance(cls, type) and cls.__module__ == module.__name__:
                if issubclass(cls, enum.Enum):
                    found[f"{name}.{cls.__name__}"] = {m.name: m.value for m in cls}
                else:
                    found[f"{name}.{cls.__name__}"] = {
                        k: v for k, v in vars(cls).items() if not k.startswith("_")
                    }
    return found


def test_semconv_has_the_names_and_values_of_0_4_21(tmp_path: Path) -> None:
    """`from agentops.semconv import SpanAttributes` was a ModuleNotFoundError."""
    done = subprocess.run(
        [str(client_python(AGENTOPS04_PYTHON)), "-c", _DUMP, *SEMCONV_MODULES],
        capture_output=True,
        text=True,
        env=client_env(),
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    *_, dumped, where = done.stdout.strip().splitlines()
    assert "site-packages" in where  # 0.4.21's own agentops
    theirs = json.loads(dumped)
    assert _semconv_here() == theirs
    from agentops import semconv

    assert semconv.SpanAttributes.LLM_PROMPTS == "gen_ai.prompt"
    assert semconv.SpanKind.AGENT == "agent"
    assert semconv.SUPPRESS_LANGUAGE_MODEL_INSTRUMENTATION_KEY == (
        "suppress_language_model_instrumentation"
    )
    names = {
        "SUPPRESS_LANGUAGE_MODEL_INSTRUMENTATION_KEY",
        "SpanKind",
        "CoreAttributes",
        "AgentAttributes",
        "ToolAttributes",
        "ToolStatus",
        "WorkflowAttributes",
        "InstrumentationAttributes",
        "LLMRequestTypeValues",
        "SpanAttributes",
        "Meters",
        "AgentOpsSpanKindValues",
        "ResourceAttributes",
        "MessageAttributes",
        "LangChainAttributes",
        "LangChainAttributeValues",
    }  # 0.4.21's agentops.semconv.__all__
    assert set(semconv.__all__) == names and all(hasattr(semconv, n) for n in names)


def test_the_modules_0_4_programs_import_from_exist(server: ServerProcess) -> None:
    """agentops.legacy, agentops.sdk.core were ModuleNotFoundErrors: the program crashed at
    its imports."""
    from agentops.legacy import (
        ActionEvent,
        ErrorEvent,
        LLMEvent,
        Session,
        ToolEvent,
        end_all_sessions,
        end_session,
        start_session,
        track_agent,
        track_tool,
    )
    from agentops.sdk.core import TraceContext, tracer

    assert (ActionEvent, ErrorEvent, LLMEvent, ToolEvent, Session) == (
        agentops.ActionEvent,
        agentops.ErrorEvent,
        agentops.LLMEvent,
        agentops.ToolEvent,
        agentops.Session,
    )
    assert (start_session, end_session, end_all_sessions, track_agent, track_tool) == (
        agentops.start_session,
        agentops.end_session,
        agentops.end_all_sessions,
        agentops.track_agent,
        agentops.track_tool,
    )
    assert TraceContext is agentops.TraceContext
    before = tracer.initialized
    init_only(server)
    assert (before, tracer.initialized) == (False, True)
    assert tracer.get_active_traces() == {}
    ctx = tracer.start_trace("via-tracer", tags=["t"])
    assert isinstance(ctx, TraceContext)
    trace_id = format(ctx.span.get_span_context().trace_id, "032x")
    assert list(tracer.get_active_traces()) == [trace_id]
    assert tracer.get_active_trace_count() == 1
    tracer.end_trace(ctx, "Success")
    assert tracer.get_active_trace_count() == 0
    assert agentops.flush(timeout=15)  # a 0.4 ending is queued, not waited for
    stored = export(server, ctx.session.session_id)["session"]
    assert (stored["name"], stored["end_state"], stored["tags"]) == ("via-tracer", "Success", ["t"])


def test_track_tool_and_track_endpoint_record_as_tool_and_trace(server: ServerProcess) -> None:
    """`from agentops import track_tool` / `track_endpoint` were ImportErrors."""
    from agentops import track_endpoint, track_tool

    @track_tool
    def lookup(city: str) -> str:
        return city.upper()

    @track_tool("named_lookup")
    def other(x: int) -> int:
        return x + 1

    @track_endpoint(name="GET /weather")
    def endpoint(city: str) -> str:
        return f"{lookup(city)} {other(1)}"

    @track_endpoint
    def broken() -> None:
        raise RuntimeError("500")

    init_only(server)
    assert endpoint("paris") == "PARIS 2"
    with pytest.raises(RuntimeError, match="500"):
        broken()
    agentops.flush(timeout=15)
    listed = httpx.get(
        f"{server.url}/v2/sessions",
        headers={"X-Agentops-Api-Key": server.api_key},
        params={"limit": 10},
        timeout=30,
    ).json()["data"]
    by_name = {row["name"]: row for row in listed}
    web = export(server, by_name["GET /weather"]["id"])
    assert web["session"]["end_state"] == "Success"
    assert sorted(tool["name"] for tool in web["tools"]) == ["lookup", "named_lookup"]
    failed = export(server, by_name["broken"]["id"])["session"]
    assert failed["end_state"] == "Indeterminate" and "500" in failed["end_state_reason"]


def test_validate_trace_spans_reads_the_trace_back_from_the_server(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate_trace_spans, print_validation_summary, ValidationError were ImportErrors."""
    from agentops import ValidationError, print_validation_summary, validate_trace_spans

    init_only(server)
    ctx = agentops.start_trace("checked")
    agentops.record(agentops.ActionEvent(action_type="plan"))
    agentops.record(agentops.LLMEvent(model="gpt-4o-mini", prompt_tokens=10, completion_tokens=5))
    result = validate_trace_spans(trace_context=ctx, max_retries=1)
    trace_id = format(ctx.span.get_span_context().trace_id, "032x")
    assert result["trace_id"] == trace_id
    assert result["span_count"] == 3  # the session and its two events
    assert result["has_llm_spans"] and result["llm_span_names"] == ["gpt-4o-mini"]
    assert result["metrics"]["total_tokens"] == 15
    assert {span["span_kind"] for span in result["spans"]} == {"session", "action", "llm"}
    print_validation_summary(result)
    assert "Found 3 span(s) in trace" in capsys.readouterr().out
    # by id (0.4's hex form or a UUID) and from the current trace
    assert validate_trace_spans(trace_id, max_retries=1)["span_count"] == 3
    assert validate_trace_spans(str(ctx.session.session_id), max_retries=1)["span_count"] == 3
    assert validate_trace_spans(max_retries=1)["trace_id"] == trace_id
    agentops.end_trace(ctx)

    quiet = agentops.start_trace("no-llm")
    agentops.record(agentops.ActionEvent(action_type="plan"))
    with pytest.raises(ValidationError, match="No LLM activity"):
        validate_trace_spans(trace_context=quiet, max_retries=1)
    assert validate_trace_spans(trace_context=quiet, check_llm=False)["span_count"] == 2
    with pytest.raises(ValidationError, match="at least 5 spans"):
        validate_trace_spans(trace_context=quiet, min_spans=5, max_retries=2, retry_delay=0)
    agentops.end_trace(quiet)
    never = "0" * 31 + "1"
    with pytest.raises(ValidationError, match="after 1 attempts"):
        validate_trace_spans(never, max_retries=1)
    skipped = validate_trace_spans(never, api_key=str(uuid.uuid4()))
    assert skipped["validation_skipped"] and "refused" in skipped["reason"]


def test_0_4_environment_variables_name_tag_and_stop_the_init_session(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AGENTOPS_TRACE_NAME, AGENTOPS_DEFAULT_TAGS, AGENTOPS_AUTO_START_SESSION were ignored:
    the session init() started had no name and no tags, and one started when told not to."""
    monkeypatch.setenv("AGENTOPS_TRACE_NAME", "envname")
    monkeypatch.setenv("AGENTOPS_DEFAULT_TAGS", "a, b,a")
    session = agentops.init(api_key=server.api_key, endpoint=server.url)
    assert session is not None
    assert session.end_session("Success") == 0
    stored = export(server, session.session_id)["session"]
    assert (stored["name"], stored["tags"]) == ("envname", ["a", "b"])
    later = agentops.start_session(tags=["c"])  # default_tags go on every session
    assert later is not None and later.end_session("Success") == 0
    assert export(server, later.session_id)["session"]["tags"] == ["a", "b", "c"]

    monkeypatch.setenv("AGENTOPS_AUTO_START_SESSION", "false")
    assert agentops.init(api_key=server.api_key, endpoint=server.url) is None
    assert agentops.get_client().sessions == []
    # an argument still wins over the variable
    named = agentops.init(
        api_key=server.api_key, endpoint=server.url, auto_start_session=True, trace_name="arg"
    )
    assert named is not None and named.name == "arg"
    assert named.end_session("Success") == 0


def test_the_session_init_starts_is_named_default_as_in_0_4(server: ServerProcess) -> None:
    session = agentops.init(api_key=server.api_key, endpoint=server.url)
    assert session is not None and session.end_session("Success") == 0
    assert export(server, session.session_id)["session"]["name"] == "default"


def test_0_4_spelling_of_the_log_level_and_skip_auto_end_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTOPS_LOG_LEVEL", "debug")
    monkeypatch.setenv("AGENTOPS_SKIP_AUTO_END_SESSION", "T")
    config = agentops._config.build()
    assert (config.log_level, config.skip_auto_end_session) == ("DEBUG", True)
    monkeypatch.setenv("AGENTOPS_LOGGING_LEVEL", "ERROR")  # ours first, when both are set
    assert agentops._config.build().log_level == "ERROR"
    assert agentops._config.build(log_level="WARNING").log_level == "WARNING"


def test_0_4_positional_endpoint_and_0_3_positional_parent_key(server: ServerProcess) -> None:
    """agentops.init(KEY, "http://...") (0.4's order: api_key, endpoint) sent to the default
    http://127.0.0.1:8000, taking the URL for 0.3's parent key."""
    session = agentops.init(server.api_key, server.url, instrument_llm_calls=False)
    assert session is not None
    assert session.config.endpoint == server.url and session.config.parent_key is None
    assert session.end_session("Success") == 0
    assert export(server, session.session_id)["session"]["end_state"] == "Success"
    # 0.4's third positional argument is its dashboard URL (app_url): not our endpoint
    again = agentops.init(
        server.api_key, server.url, "https://app.agentops.ai", instrument_llm_calls=False
    )
    assert again is not None and again.config.endpoint == server.url
    assert again.end_session("Success") == 0
    parent = str(uuid.uuid4())  # 0.3's init(api_key, parent_key, endpoint)
    init_only_positional = agentops.init(
        server.api_key, parent, server.url, auto_start_session=False, instrument_llm_calls=False
    )
    assert init_only_positional is None
    config = agentops.get_client().config
    assert (config.parent_key, config.endpoint) == (parent, server.url)


def test_init_merges_tags_and_default_tags(server: ServerProcess) -> None:
    """init(tags=[...], default_tags=[...]) kept only default_tags (0.4 merges them)."""
    session = agentops.init(
        api_key=server.api_key,
        endpoint=server.url,
        tags=["t", "both"],
        default_tags=["dt", "both"],
        instrument_llm_calls=False,
    )
    assert session is not None and session.end_session("Success") == 0
    assert export(server, session.session_id)["session"]["tags"] == ["t", "both", "dt"]


def test_update_trace_metadata_tags_keep_the_dict_tags_of_start_trace(
    server: ServerProcess,
) -> None:
    """0.4.21 keeps start_trace(tags={...}) as attributes of their own: on our server its
    trace ends with ['x', 'env:prod', 'ver:2']; ours ended with ['x']."""
    init_only(server)
    with_dict = agentops.start_trace("dict", tags={"env": "prod", "ver": 2})
    assert agentops.update_trace_metadata({"tags": ["x"]})
    agentops.end_trace(with_dict)
    with_list = agentops.start_trace("list", tags=["env:prod"])
    assert agentops.update_trace_metadata({"tags": ["x"]})
    agentops.end_trace(with_list)
    assert export(server, with_dict.session.session_id)["session"]["tags"] == [
        "x",
        "env:prod",
        "ver:2",
    ]
    assert export(server, with_list.session.session_id)["session"]["tags"] == ["x"]


def test_record_returns_the_event_as_0_4_does(server: ServerProcess) -> None:
    """0.4.21's record() returns the event, ended; ours returned None."""
    session = agentops.init(api_key=server.api_key, endpoint=server.url)
    event = agentops.ActionEvent(action_type="step")
    assert agentops.record(event) is event
    assert event.end_timestamp is not None
    assert session is not None and session.end_session("Success") == 0
    assert [a["action_type"] for a in export(server, session.session_id)["actions"]] == ["step"]
