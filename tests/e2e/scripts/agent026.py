"""An agent using the REAL agentops==0.3.26, run by tests/e2e with that package's interpreter.

agent026.py parent ENDPOINT API_KEY   records all four event types and tags, prints the
                                      session id, waits for a line on stdin, then ends
                                      the session and prints the cost end_session returned
agent026.py child ENDPOINT API_KEY SESSION_ID   joins the session (inherited), records an
                                      action, ends it and prints the cost
agent026.py no-end ENDPOINT API_KEY   records an action and exits without end_session
"""

import json
import sys
import time

import agentops
from agentops import ActionEvent, ErrorEvent, LLMEvent, ToolEvent


def say(**values: object) -> None:
    print(json.dumps(values), flush=True)


def parent(endpoint: str, api_key: str) -> None:
    session = agentops.init(api_key=api_key, endpoint=endpoint, default_tags=["e2e"])
    assert session is not None, "agentops.init did not start a session"
    session.record(ActionEvent(action_type="plan", params={"goal": "answer"}, returns="ok"))
    session.record(ToolEvent(name="search", params={"q": "agentops"}, returns=["r1", "r2"]))
    llm = LLMEvent(
        model="gpt-4o-mini",
        prompt=[{"role": "user", "content": "Say hi"}],
        completion={"role": "assistant", "content": "Hello there"},
        prompt_tokens=1000,
        completion_tokens=500,
    )
    session.record(llm)
    session.record(
        ErrorEvent(trigger_event=llm, error_type="ValueError", details="bad x", code="E1"),
        flush_now=True,  # so the child process sees the priced LLM event in its cost
    )
    session.add_tags(["added"])
    session.set_tags(["set-1", "set-2"])
    say(session_id=str(session.session_id))
    sys.stdin.readline()  # the test runs the child process now
    cost = session.end_session("Success", end_state_reason="all done")
    say(cost=None if cost is None else str(cost), cost_type=type(cost).__name__)


def child(endpoint: str, api_key: str, session_id: str) -> None:
    session = agentops.init(api_key=api_key, endpoint=endpoint, inherited_session_id=session_id)
    assert session is not None, "agentops.init did not join the session"
    session.record(ActionEvent(action_type="child-step", params={"n": 1}))
    cost = session.end_session("Fail", end_state_reason="child finished")
    say(cost=None if cost is None else str(cost), cost_type=type(cost).__name__)


def no_end(endpoint: str, api_key: str) -> None:
    session = agentops.init(api_key=api_key, endpoint=endpoint)
    assert session is not None, "agentops.init did not start a session"
    session.record(ActionEvent(action_type="last-words"))
    say(session_id=str(session.session_id))  # then exit without end_session


def wait(endpoint: str, api_key: str) -> None:
    session = agentops.init(api_key=api_key, endpoint=endpoint)
    assert session is not None, "agentops.init did not start a session"
    session.record(ActionEvent(action_type="long-task"))
    say(session_id=str(session.session_id))
    time.sleep(120)  # until the test sends SIGTERM


if __name__ == "__main__":
    if sys.argv[1] == "parent":
        parent(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "wait":
        wait(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "no-end":
        no_end(sys.argv[2], sys.argv[3])
    else:
        child(sys.argv[2], sys.argv[3], sys.argv[4])
