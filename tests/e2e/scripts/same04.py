"""One agentops 0.4-style program, run unchanged with the REAL agentops==0.4.21
(.venv-agentops04's python, OTLP) and with our SDK (.venv's python, v2) by
tests/e2e/test_same_program04.py, which compares the sessions both make.

same04.py SERVER_URL API_KEY OPENAI_BASE_URL

The last stdout line is JSON naming each trace's session id (its trace id as a UUID):
  workflow  an @agent class whose @operation calls an @operation, a @tool(cost=0.01) and a
            @tool(cost=0.02) making an OpenAI chat call; an @agent function whose @task calls
            a raising @tool; end_trace(ctx, "Fail")
  pipeline  an async @workflow gathering two async @task calls; end_trace(ctx, "Success")
  dict_tags tags given as a dict, no events; end_trace(ctx, "Success")
  with_ok   `with start_trace(...)`, a @task inside, normal exit
  with_err  `with start_trace(...)`, a @task inside, the block raises
Only string end states are given to end_trace: 0.4.21 drops enum end states (the `with`
blocks end with one), a difference the test names.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

import openai

import agentops

CLIENT: openai.OpenAI | None = None


def session_id(ctx: Any) -> str:
    trace_id = ctx.span.get_span_context().trace_id
    return str(uuid.UUID(hex=f"{trace_id:032x}"))


def wait_for_token(seconds: float = 15.0) -> None:
    """0.4.21 authenticates in the background; spans ended before that go out without a
    token. Our SDK has no such method and needs no wait."""
    get_jwt = getattr(agentops.get_client(), "get_current_jwt", None)
    if get_jwt is None:
        return
    deadline = time.monotonic() + seconds
    while get_jwt() is None:
        if time.monotonic() > deadline:
            raise SystemExit("no token from POST /v3/auth/token")
        time.sleep(0.02)


@agentops.tool(cost=0.01)
def get_weather(city: str) -> dict[str, Any]:
    return {"city": city, "temp_c": 21}


@agentops.tool(cost=0.02)
def ask_model(question: str) -> str:
    assert CLIENT is not None
    done = CLIENT.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": question}],
        max_tokens=50,
    )
    return str(done.choices[0].message.content)


@agentops.tool
def failing_tool(x: int) -> int:
    raise RuntimeError("tool exploded")


@agentops.operation
def plan_step(goal: str) -> str:
    return f"plan for {goal}"


@agentops.task
def explode() -> int:
    return failing_tool(1)


@agentops.agent(name="crasher")
def crasher() -> int:
    return explode()


@agentops.agent(name="ResearchAgent")
class ResearchAgent:
    def __init__(self, goal: str) -> None:
        self.goal = goal

    @agentops.operation
    def run(self) -> str:
        plan_step(self.goal)
        get_weather("Paris")
        return ask_model("Say hi")


@agentops.task
async def fetch(n: int) -> int:
    await asyncio.sleep(0)
    return n * 2


@agentops.workflow
async def pipeline() -> int:
    return sum(await asyncio.gather(fetch(1), fetch(2)))


def main() -> None:
    global CLIENT
    url, key, openai_url = sys.argv[1:4]
    CLIENT = openai.OpenAI(api_key="sk-fake", base_url=openai_url, max_retries=0)
    agentops.init(
        api_key=key,
        endpoint=url,
        exporter_endpoint=url + "/v1/traces",
        app_url=url,
        auto_start_session=False,
    )
    wait_for_token()
    ids: dict[str, str] = {}

    workflow = agentops.start_trace("workflow", tags=["same", "workflow"])
    agent = ResearchAgent("climate")
    agent.run()
    del agent  # 0.4.21 ends a class agent's span in __del__
    try:
        crasher()
    except RuntimeError:
        pass
    agentops.end_trace(workflow, "Fail")
    ids["workflow"] = session_id(workflow)

    flow = agentops.start_trace("pipeline", tags=["same", "async"])
    assert asyncio.run(pipeline()) == 6
    agentops.end_trace(flow, "Success")
    ids["pipeline"] = session_id(flow)

    dict_tags = agentops.start_trace("dict_tags", tags={"team": "alpha", "env": "test"})
    agentops.end_trace(dict_tags, "Success")
    ids["dict_tags"] = session_id(dict_tags)

    ok_trace = agentops.start_trace("with_ok", tags=["same", "with"])
    assert ok_trace is not None
    with ok_trace as ok:
        plan_step("inside")
    ids["with_ok"] = session_id(ok)

    err_trace = agentops.start_trace("with_err", tags=["same", "with"])
    assert err_trace is not None
    try:
        with err_trace as err:
            plan_step("inside")
            raise ValueError("block failed")
    except ValueError:
        pass
    ids["with_err"] = session_id(err)
    print(json.dumps(ids), flush=True)


if __name__ == "__main__":
    main()
