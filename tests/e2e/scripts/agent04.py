"""An agent using the REAL agentops==0.4.21, run by tests/e2e with .venv-agentops04's python.

agent04.py SCENARIO SERVER_URL API_KEY OPENAI_BASE_URL

Scenarios (the last stdout line is JSON naming the session ids, as UUIDs, it created):
  traces     auto_start_session=False, once init() has its token: one trace per
             start_trace/start_session:
             "ok" (Success), "workflow" (agents, tasks, tools, OpenAI calls; ends "Fail"),
             "legacy" (start_session, a chat completion and a Responses API call,
             end_session("Fail", end_state_reason=...)),
             "dict_tags" (tags given as a dict), "default_end" (end_trace(ctx) with
             its default enum end state, which 0.4.21 does not put on the wire) and
             "outside_tool" (a @tool called outside any trace; a chat completion made
             outside any trace follows it)
  auto       auto_start_session=True with default tags: everything, including a legacy
             session ended with a reason, is one trace whose root ends at exit ("Shutdown")
  immediate  auto_start_session=True, a trace ended right after init(): exported before
             the SDK has its token; the init trace's root follows at exit, authenticated
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

import openai
from opentelemetry import trace as otel_trace

import agentops

TOOL_DEF = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def session_id(ctx: Any) -> str:
    """The session id the server gives a trace: its trace id as a UUID."""
    trace_id = ctx.span.get_span_context().trace_id
    return str(uuid.UUID(hex=f"{trace_id:032x}"))


def wait_for_token(seconds: float = 15.0) -> None:
    """Until init()'s background auth has its token: spans ended before that go out without
    one (the `immediate` scenario covers that race)."""
    deadline = time.monotonic() + seconds
    while agentops.get_client().get_current_jwt() is None:
        if time.monotonic() > deadline:
            raise SystemExit("agentops 0.4.21 got no token from POST /v3/auth/token")
        time.sleep(0.02)


def say(**values: object) -> None:
    print(json.dumps(values), flush=True)


def init(url: str, key: str, **options: Any) -> Any:
    return agentops.init(
        api_key=key,
        endpoint=url,
        exporter_endpoint=url + "/v1/traces",
        app_url=url,
        **options,
    )


# --- the instrumented code ----------------------------------------------------------------
@agentops.tool(cost=0.01)
def get_weather(city: str) -> dict[str, Any]:
    return {"city": city, "temp_c": 21}


@agentops.tool(cost=0.02)
def lookup(city: str) -> str:
    """Called outside any trace: the root of a trace of its own, whose session id it returns
    (the OpenAI call made outside any trace is found by the test in the session list)."""
    trace_id = otel_trace.get_current_span().get_span_context().trace_id
    return str(uuid.UUID(int=trace_id))


@agentops.tool
def failing_tool(x: int) -> int:
    raise RuntimeError("tool exploded")


@agentops.task(name="named_task", version=2)
def summarize(text: str) -> str:
    return text.upper()


@agentops.operation
def plan_step(goal: str) -> str:
    return f"plan for {goal}"


def chat(client: openai.OpenAI) -> str:
    done = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hi"},
        ],
        max_tokens=50,
    )
    return str(done.choices[0].message.content)


def chat_with_tools(client: openai.OpenAI) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[TOOL_DEF],
    )


def chat_stream(client: openai.OpenAI) -> str:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Stream hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts = [c.choices[0].delta.content or "" for c in stream if c.choices]
    return "".join(parts)


@agentops.agent(name="ResearchAgent")
class ResearchAgent:
    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client

    @agentops.operation
    def run(self, goal: str) -> str:
        plan_step(goal)
        summarize("done")
        get_weather("Paris")
        chat(self.client)
        chat_with_tools(self.client)
        return chat_stream(self.client)


@agentops.task
def explode() -> int:
    return failing_tool(1)


@agentops.agent(name="crasher")
def crasher() -> int:
    return explode()


# --- scenarios ----------------------------------------------------------------------------
def traces(url: str, key: str, client: openai.OpenAI) -> None:
    init(url, key, auto_start_session=False)
    wait_for_token()
    ids: dict[str, str] = {}

    ok = agentops.start_trace("ok_trace", tags=["e2e", "ok"])
    plan_step("nothing")
    agentops.end_trace(ok, "Success")
    ids["ok"] = session_id(ok)

    workflow = agentops.start_trace("workflow_trace", tags=["e2e", "workflow"])
    agent = ResearchAgent(client)
    agent.run("climate")
    del agent  # ends the class agent's span (0.4.21 ends it in __del__)
    try:
        crasher()
    except RuntimeError:
        pass
    agentops.end_trace(workflow, "Fail")
    ids["workflow"] = session_id(workflow)

    legacy = agentops.start_session(tags=["legacy-1", "legacy-2"])
    chat(client)
    client.responses.create(model="gpt-4o-mini", input="Say hi with the Responses API")
    agentops.end_session("Fail", end_state_reason="gave up", custom_field="abc")
    ids["legacy"] = session_id(legacy.trace_context)

    dict_tags = agentops.start_trace("dict_tags", tags={"team": "alpha", "env": "test"})
    agentops.end_trace(dict_tags, "Success")
    ids["dict_tags"] = session_id(dict_tags)

    default_end = agentops.start_trace("default_end", tags=["e2e"])
    agentops.end_trace(default_end)  # TraceState.SUCCESS: an enum, dropped by 0.4.21
    ids["default_end"] = session_id(default_end)

    # calls outside any trace (auto_start_session=False): each is a trace of its own
    ids["outside_tool"] = lookup("Oslo")
    chat(client)
    say(**ids)


def auto(url: str, key: str, client: openai.OpenAI) -> None:
    init_session = init(url, key, default_tags=["auto-a", "auto-b"])
    print("hello from the agent")  # 0.4.21 uploads printed lines when the first trace ends
    get_weather("Oslo")
    legacy = agentops.start_session(tags=["inner"])
    chat(client)
    agentops.end_session("Success", end_state_reason="all done")
    say(
        trace=session_id(init_session.trace_context),
        legacy=session_id(legacy.trace_context),
    )  # the init trace's root is exported at exit


def immediate(url: str, key: str) -> None:
    init_session = init(url, key)
    quick = agentops.start_trace("quick", tags=["quick"])
    agentops.end_trace(quick, "Success")
    say(trace=session_id(init_session.trace_context), quick=session_id(quick))


def main() -> None:
    scenario, url, key, openai_url = sys.argv[1:5]
    client = openai.OpenAI(api_key="sk-fake", base_url=openai_url, max_retries=0)
    if scenario == "traces":
        traces(url, key, client)
    elif scenario == "auto":
        auto(url, key, client)
    elif scenario == "immediate":
        immediate(url, key)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")


if __name__ == "__main__":
    main()
