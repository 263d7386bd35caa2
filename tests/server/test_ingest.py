"""The v2 ingestion endpoints over real HTTP, with the exact shapes agentops 0.3.26 sends."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import uuid
from decimal import Decimal

import httpx
from genai_prices import Usage, calc_price

from tests.server.conftest import LiveServer, action, error, llm, tool
from tests.support.server import ServerProcess


def gpt4o_mini_cost(prompt: int, completion: int) -> Decimal:
    price = calc_price(Usage(input_tokens=prompt, output_tokens=completion), "gpt-4o-mini")
    return Decimal(price.total_price)


def test_create_session_answers_status_jwt_and_our_dashboard_url(live: LiveServer) -> None:
    session_id = str(uuid.uuid4())
    res = live.post(
        "/v2/create_session",
        {"session": {"session_id": session_id, "init_timestamp": None, "_lock": ""}},
        headers=live.key_headers(),
    )
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/json")
    body = res.json()
    assert body["status"] == "success"
    assert isinstance(body["jwt"], str) and body["jwt"]
    assert body["session_url"] == f"{live.url}/sessions/{session_id}"


def test_doubled_slash_paths_work(live: LiveServer) -> None:
    session_id = str(uuid.uuid4())
    res = live.client.post(
        f"{live.url}//v2/create_session",
        json={"session": {"session_id": session_id}},
        headers=live.key_headers(),
    )
    assert res.status_code == 200
    jwt = res.json()["jwt"]
    res = live.client.post(
        f"{live.url}//v2/create_events", json={"events": [action()]}, headers=live.auth(jwt)
    )
    assert res.status_code == 200
    assert live.stats(session_id)["events"] == 1


def test_full_session_round_trip_and_token_cost_is_the_priced_sum(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    events = [action(), tool(), llm(), llm(prompt_tokens=1000, completion_tokens=10), error()]
    res = live.send_events(jwt, events)
    assert res.status_code == 200
    assert res.json() == {"status": "success", "inserted": 5, "duplicates": 0}

    agent = {"id": "agent-1", "name": "planner"}
    res = live.post("/v2/create_agent", agent, headers=live.auth(jwt))
    assert res.status_code == 200 and res.json() == {"status": "success"}

    final = {
        "session_id": session_id,
        "end_timestamp": "2026-11-21T12:36:40.000000+00:00",
        "end_state": "Success",
        "end_state_reason": "all good",
        "tags": ["replaced-tag", "t2"],
        "is_running": False,
        "token_cost": "",
        "_tracer_provider": "",
    }
    res = live.post("/v2/update_session", {"session": final}, headers=live.auth(jwt))
    assert res.status_code == 200
    body = res.json()
    expected = gpt4o_mini_cost(100, 50) + gpt4o_mini_cost(1000, 10)
    assert body["status"] == "success"
    assert isinstance(body["token_cost"], str)
    assert Decimal(body["token_cost"]) == expected
    stats = live.stats(session_id)
    assert stats["end_state"] == "Success"
    assert stats["end_state_reason"] == "all good"
    assert stats["event_counts"] == {"llms": 2, "tools": 1, "actions": 1, "errors": 1}
    assert stats["duration"] == 8.167111
    session = live.store.get_session(live.project_id, session_id)
    assert session.tags == ["replaced-tag", "t2"]
    assert [(a.id, a.name) for a in live.store.list_agents(session_id)] == [("agent-1", "planner")]


def test_updates_while_running_do_not_end_the_session(live: LiveServer) -> None:
    """get_analytics() and add_tags send an end_timestamp with "Indeterminate" mid-run."""
    session_id, jwt = live.start_session()
    running = {
        "end_timestamp": "2026-11-21T12:36:33.000000+00:00",
        "end_state": "Indeterminate",
        "tags": ["t-default", "added"],
        "is_running": True,
    }
    res = live.post("/v2/update_session", {"session": running}, headers=live.auth(jwt))
    assert res.status_code == 200 and res.json()["token_cost"] == "0"
    stats = live.stats(session_id)
    assert stats["end_timestamp"] is None
    assert stats["end_state"] == "Indeterminate"
    assert live.store.get_session(live.project_id, session_id).tags == ["t-default", "added"]


def test_identity_comes_from_the_token_not_the_body(live: LiveServer) -> None:
    first, jwt = live.start_session()
    second, _ = live.start_session()
    res = live.send_events(jwt, [action(session_id=second)])
    assert res.status_code == 200
    res = live.post(
        "/v2/update_session",
        {"session": {"session_id": second, "end_state": "Fail", "is_running": False}},
        headers=live.auth(jwt),
    )
    assert res.status_code == 200
    assert live.stats(first)["events"] == 1 and live.stats(first)["end_state"] == "Fail"
    assert live.stats(second)["events"] == 0 and live.stats(second)["end_state"] == "Indeterminate"


def test_the_same_event_id_twice_is_stored_and_counted_once(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    batch = [llm(), action()]
    assert live.send_events(jwt, batch).json()["inserted"] == 2
    again = live.send_events(jwt, batch)
    assert again.status_code == 200
    assert again.json() == {"status": "success", "inserted": 0, "duplicates": 2}
    stats = live.stats(session_id)
    assert stats["events"] == 2 and stats["prompt_tokens"] == 100
    assert Decimal(stats["cost"]) == gpt4o_mini_cost(100, 50)


def test_one_batch_sent_eight_times_at_once_is_stored_once_and_the_totals_match_the_export(
    live: LiveServer,
) -> None:
    """A client retrying on several connections: the copies race for the same event ids."""
    session_id, jwt = live.start_session()
    models = ["gpt-4o-mini", "gpt-4o", "unknown-model-x"]
    batch = [
        llm(model=models[i % 3], prompt_tokens=1000 + i, completion_tokens=7 * i) for i in range(90)
    ]
    answers: list[int] = []

    def send() -> None:
        answers.append(live.send_events(jwt, batch).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [200] * 8
    stats = live.stats(session_id)
    export = live.get(f"/v2/sessions/{session_id}/export").json()
    assert stats["events"] == 90 == len(export["llms"])
    priced = [Decimal(e["cost"]) for e in export["llms"] if e["cost"] is not None]
    assert sum(priced) == Decimal(stats["cost"])
    assert stats["unknown_cost_events"] == 30


def test_concurrent_batches_for_one_session_never_lose_an_increment(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    failures: list[int] = []

    def sender() -> None:
        for _ in range(5):
            res = live.send_events(
                jwt, [llm(prompt_tokens=1, completion_tokens=1)] * 1 + [action() for _ in range(19)]
            )
            if res.status_code != 200:
                failures.append(res.status_code)

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    stats = live.stats(session_id)
    assert stats["events"] == 8 * 5 * 20
    assert stats["event_counts"]["llms"] == 40 and stats["prompt_tokens"] == 40


def test_gzip_bodies_are_accepted(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    raw = json.dumps({"events": [action() for _ in range(50)]}).encode()
    res = live.post(
        "/v2/create_events",
        content=gzip.compress(raw),
        headers={**live.auth(jwt), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert res.status_code == 200 and res.json()["inserted"] == 50
    # several gzip members, concatenated (RFC 1952; `cat a.gz b.gz`), are read whole
    more = json.dumps({"events": [action() for _ in range(50)]}).encode()
    half = len(more) // 2
    res = live.post(
        "/v2/create_events",
        content=gzip.compress(more[:half]) + gzip.compress(more[half:]),
        headers={**live.auth(jwt), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert res.status_code == 200 and res.json()["inserted"] == 50, res.text
    assert live.stats(session_id)["events"] == 100


def test_inherited_session_reattaches_without_wiping(live: LiveServer) -> None:
    """A second process sends create_session again with the same id (0.3.26 inherited)."""
    session_id, parent_jwt = live.start_session(tags=["parent"])
    assert live.send_events(parent_jwt, [llm(), action()]).status_code == 200
    _, child_jwt = live.start_session(
        session_id, tags=[], init_timestamp="2026-11-21T12:37:00.000000+00:00"
    )
    assert child_jwt != parent_jwt
    assert live.send_events(child_jwt, [action()]).status_code == 200
    child_end = {
        "end_timestamp": "2026-11-21T12:37:01.000000+00:00",
        "end_state": "Fail",
        "end_state_reason": "child finished",
        "init_timestamp": "2026-11-21T12:37:00.000000+00:00",
        "tags": ["child"],
        "is_running": False,
    }
    res = live.post("/v2/update_session", {"session": child_end}, headers=live.auth(child_jwt))
    assert res.status_code == 200
    assert Decimal(res.json()["token_cost"]) == gpt4o_mini_cost(100, 50)
    stats = live.stats(session_id)
    assert stats["events"] == 3
    assert stats["init_timestamp"] == "2026-11-21T12:36:31.832889+00:00"
    assert stats["end_state"] == "Fail" and stats["end_state_reason"] == "child finished"
    session = live.store.get_session(live.project_id, session_id)
    assert session.tags == ["parent", "child"]
    # the parent's token still works, and its set_tags replaces its own tags, not the child's
    res = live.post(
        "/v2/update_session", {"session": {"tags": ["final"]}}, headers=live.auth(parent_jwt)
    )
    assert res.status_code == 200
    assert live.store.get_session(live.project_id, session_id).tags == ["final", "child"]


def test_reauthorize_jwt_issues_a_working_token(live: LiveServer) -> None:
    session_id, _ = live.start_session()
    res = live.post("/v2/reauthorize_jwt", {"session_id": session_id}, headers=live.key_headers())
    assert res.status_code == 200 and res.json()["status"] == "success"
    assert live.send_events(res.json()["jwt"], [action()]).status_code == 200
    assert live.stats(session_id)["events"] == 1


def test_developer_errors_answer_200_json(live: LiveServer) -> None:
    report = {"sdk_version": "0.3.26", "type": "KeyError", "message": "boom", "stack_trace": "…"}
    res = live.post("/v2/developer_errors", report, headers=live.key_headers())
    assert res.status_code == 200 and res.json() == {"status": "success"}


def test_client_reported_cost_wins_and_unknown_models_are_unknown(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    live.send_events(jwt, [llm(cost=0.5), llm(model="my-private-model-x")])
    stats = live.stats(session_id)
    assert stats["cost"] == "0.5"
    assert stats["unknown_cost_events"] == 1 and stats["cost_complete"] is False


def test_every_llm_event_of_unknown_price_makes_the_cost_null(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    live.send_events(jwt, [llm(model="my-private-model-x", prompt_tokens=None)])
    stats = live.stats(session_id)
    assert stats["cost"] is None and stats["unknown_cost_events"] == 1


def test_a_parent_key_links_the_session_to_a_second_project(live: LiveServer) -> None:
    parent = live.store.create_project("Parent")
    parent_key = live.new_key(parent.id)
    session_id = str(uuid.uuid4())
    headers = {**live.key_headers(), "X-Agentops-Parent-Key": parent_key}
    res = live.post("/v2/create_session", {"session": {"session_id": session_id}}, headers=headers)
    assert res.status_code == 200
    body = live.get(f"/v2/sessions/{session_id}/export").json()
    assert body["session"]["project_id_secondary"] == parent.id
    headers["X-Agentops-Parent-Key"] = str(uuid.uuid4())
    res = live.post(
        "/v2/create_session", {"session": {"session_id": str(uuid.uuid4())}}, headers=headers
    )
    assert res.status_code == 401


def test_a_session_with_100000_tags_is_stored_and_never_freezes_the_server(
    live: LiveServer,
) -> None:
    """Tags are deduplicated in O(n): one create_session with 100,000 tags (about 800 KB)
    used to block the event loop, and so every other request, for over a minute."""
    session_id = str(uuid.uuid4())
    tags = [f"t{i}" for i in range(100_000)] + ["t0", "t1"]
    answers: list[int] = []

    def send() -> None:
        with httpx.Client(timeout=120) as client:
            res = client.post(
                f"{live.url}/v2/create_session",
                headers=live.key_headers(),
                json={"session": {"session_id": session_id, "tags": tags}},
            )
            answers.append(res.status_code)

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(1.0)  # the request is being handled now (or already done)
    # a hang check, not a speed check: /health normally answers in milliseconds
    assert httpx.get(f"{live.url}/health", timeout=15).status_code == 200
    sender.join(120)
    assert answers == [200]
    stored = live.store.get_session(live.project_id, session_id)
    assert len(stored.tags) == 100_000 and stored.tags[:2] == ["t0", "t1"]


def test_session_ids_are_uuids_and_their_case_does_not_make_a_second_session(
    live: LiveServer,
) -> None:
    """0.3.26 sends str(uuid4()); an upper-case spelling of the same UUID is the same session."""
    session_id = str(uuid.uuid4())
    upper_id, jwt = live.start_session(session_id.upper())
    res = live.post(
        "/v2/create_session", {"session": {"session_id": upper_id}}, headers=live.key_headers()
    )
    assert res.status_code == 200 and res.json()["session_id"] == session_id
    assert live.send_events(jwt, [action()]).status_code == 200
    _, again = live.start_session(session_id)  # the lower-case id re-attaches
    assert live.send_events(again, [tool()]).status_code == 200
    assert live.stats(session_id)["events"] == 2
    assert live.stats(upper_id)["events"] == 2  # the export API accepts either spelling
    res = live.post("/v2/reauthorize_jwt", {"session_id": upper_id}, headers=live.key_headers())
    assert res.status_code == 200
    res = live.post("/v2/reauthorize_jwt", {"session_id": "nope"}, headers=live.key_headers())
    assert res.status_code == 422 and "session_id must be a UUID" in res.json()["message"]


SDK_RUN_WITH_A_LONG_TAG = """
import sys
import agentops
KEY, ENDPOINT = sys.argv[1], sys.argv[2]
s = agentops.init(api_key=KEY, endpoint=ENDPOINT, default_tags=["run:" + "x" * 600, "nightly"])
print("SESSION", s.session_id)
for _ in range(5):
    agentops.record(agentops.ActionEvent(action_type="work"))
agentops.end_session("Success")
"""


def test_one_long_tag_does_not_lose_the_sdks_session(server: ServerProcess) -> None:
    """A tag over 500 characters is cut, not refused: a refused create_session made the SDK
    drop the session and every event in it."""
    done = subprocess.run(
        [sys.executable, "-c", SDK_RUN_WITH_A_LONG_TAG, server.api_key, server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    session_id = next(
        line.split()[1] for line in done.stdout.splitlines() if line.startswith("SESSION ")
    )
    stats = server.stats(session_id).json()  # end_session flushed the events
    assert (stats["events"], stats["end_state"]) == (5, "Success")
    tags = server.export(session_id).json()["session"]["tags"]
    assert sorted(tags) == sorted(["run:" + "x" * 496, "nightly"])


def test_an_api_key_is_the_same_key_in_any_spelling_of_its_uuid(live: LiveServer) -> None:
    """agentops 0.3 sends the key as the user wrote it: upper case, without hyphens, in braces."""
    key = uuid.UUID(live.api_key)
    for spelling in (str(key).upper(), key.hex, f"{{{key}}}"):
        res = live.post(
            "/v2/create_session",
            {"session": {"session_id": str(uuid.uuid4())}},
            headers={"X-Agentops-Api-Key": spelling},
        )
        assert res.status_code == 200, (spelling, res.text)
    other = live.post(
        "/v2/create_session",
        {"session": {"session_id": str(uuid.uuid4())}},
        headers={"X-Agentops-Api-Key": uuid.uuid4().hex},
    )
    assert other.status_code == 401
