"""Alerts end to end: `agentops serve --workers 2` evaluates the rules in both processes, and a
webhook receiver on loopback gets each occurrence exactly once; a receiver that is down or
answers 500 is retried until it takes the alert, once."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, free_port
from tests.support.webhook import WebhookReceiver, wait_until

FAST = {
    "AGENTOPS_ALERT_INTERVAL_SECONDS": "0.2",
    "AGENTOPS_ALERT_RETRY_SECONDS": "0.2",
    "AGENTOPS_SESSION_INACTIVITY_SECONDS": "5",  # sessions the tests end are ended well before
}
QUIET_TICKS = 10  # evaluations by each worker after the last expected alert


def add_rule(server: ServerProcess, **rule: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/v2/alerts/rules",
        json=rule,
        headers={"X-Agentops-Api-Key": server.api_key},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


def history(server: ServerProcess) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/v2/alerts/history",
        headers={"X-Agentops-Api-Key": server.api_key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def run_session(
    server: ServerProcess,
    *,
    state: str | None,
    cost: float | None = None,
    runs: timedelta = timedelta(seconds=5),
) -> str:
    """A session as the agentops 0.3 client sends it: created, an LLM call, maybe ended."""
    session_id = str(uuid.uuid4())
    start = datetime.now(UTC)
    created = httpx.post(
        f"{server.url}/v2/create_session",
        json={"session": {"session_id": session_id, "init_timestamp": start.isoformat()}},
        headers={"X-Agentops-Api-Key": server.api_key},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    auth = {"Authorization": f"Bearer {created.json()['jwt']}"}
    if cost is not None:
        call = {
            "id": str(uuid.uuid4()),
            "event_type": "llms",
            "init_timestamp": start.isoformat(),
            "end_timestamp": start.isoformat(),
            "model": "gpt-4o-mini",
            "prompt": "hi",
            "completion": "hello",
            "prompt_tokens": 3,
            "completion_tokens": 2,
            "cost": cost,
        }
        sent = httpx.post(
            f"{server.url}/v2/create_events", json={"events": [call]}, headers=auth, timeout=30
        )
        assert sent.status_code == 200, sent.text
    if state is not None:
        end = {
            "end_state": state,
            "end_state_reason": "boom" if state == "Fail" else "done",
            "end_timestamp": (start + runs).isoformat(),
        }
        ended = httpx.post(
            f"{server.url}/v2/update_session", json={"session": end}, headers=auth, timeout=30
        )
        assert ended.status_code == 200, ended.text
    return session_id


@pytest.mark.slow
def test_each_rule_fires_once_per_occurrence_with_two_workers(
    tmp_path: Path, database_url: str
) -> None:
    receiver = WebhookReceiver().start()
    server = ServerProcess(
        data_dir=tmp_path / "data",
        database_url=database_url,
        extra_args=["--workers", "2"],
        extra_env=FAST,
    ).start()
    try:
        hook = receiver.url
        add_rule(server, kind="session_failed", webhook_url=f"{hook}/failed")
        add_rule(server, kind="session_cost", threshold=1.0, webhook_url=f"{hook}/cost")
        add_rule(server, kind="session_duration", threshold=60, webhook_url=f"{hook}/duration")
        add_rule(server, kind="daily_cost", threshold=2, webhook_url=f"{hook}/daily")
        add_rule(
            server,
            kind="error_rate",
            threshold=50,
            window_minutes=60,
            min_sessions=2,
            webhook_url=f"{hook}/rate",
        )
        add_rule(server, kind="session_unended", webhook_url=f"{hook}/unended")

        # in this order the error rate goes over 50% once (2 of 2 failed, or 2 of 3) and never
        # goes over again: it is 2 of 4 once the unended one is closed
        failed = [run_session(server, state="Fail"), run_session(server, state="Fail")]
        costly = run_session(server, state="Success", cost=1.5)
        long = run_session(server, state="Success", cost=1.0, runs=timedelta(seconds=120))
        unended = run_session(server, state=None)

        expected = {
            "/failed": set(failed),
            "/cost": {costly},
            "/duration": {long},
            "/unended": {unended},
        }

        def all_arrived() -> bool:
            sessions_ok = all(
                {b["session"]["id"] for b in receiver.delivered(path)} >= ids
                for path, ids in expected.items()
            )
            return sessions_ok and all(receiver.delivered(p) for p in ("/daily", "/rate"))

        wait_until(all_arrived, "every rule's alerts")
        time.sleep(QUIET_TICKS * 0.2)  # let both workers evaluate again: nothing new may fire

        for path, ids in expected.items():
            got = [b["session"]["id"] for b in receiver.delivered(path)]
            assert sorted(got) == sorted(ids), path
        (daily,) = receiver.delivered("/daily")
        assert daily["values"]["cost_usd"] == "2.5"
        assert daily["values"]["day"] == datetime.now(UTC).date().isoformat()
        (rate,) = receiver.delivered("/rate")
        ended = rate["values"]["sessions_ended"]  # 2, or 3 if the costly one ended first
        assert rate["values"]["sessions_failed"] == 2 and ended in (2, 3)
        assert f"2 of the {ended} sessions that ended in the last 60 min failed" in rate["text"]

        (cost_alert,) = receiver.delivered("/cost")
        assert cost_alert["rule"]["kind"] == "session_cost"
        assert cost_alert["project"] == {"id": server.project_id, "name": "Test"}
        assert cost_alert["values"]["cost_usd"] == "1.5"
        url = cost_alert["session"]["url"]
        assert url.endswith(f"/projects/{server.project_id}/sessions/{costly}")
        assert costly in cost_alert["text"] and "1.5 USD" in cost_alert["text"]
        failed_alert = receiver.delivered("/failed")[0]
        assert "failed: boom" in failed_alert["text"]
        unended_alert = receiver.delivered("/unended")[0]
        assert "No end received" in unended_alert["values"]["end_state_reason"]

        fired = history(server)
        assert len(fired) == 7
        assert {f["status"] for f in fired} == {"delivered"}
        assert all(len(f["history"]) == 1 and f["history"][0]["ok"] for f in fired)
    finally:
        server.stop()
        receiver.stop()


@pytest.mark.slow
def test_a_receiver_that_is_down_or_failing_gets_the_alert_once_after_retries(
    tmp_path: Path, database_url: str
) -> None:
    failing = WebhookReceiver(answers=[500, 503]).start()
    down_port = free_port()  # nothing listens there yet: connection refused
    server = ServerProcess(
        data_dir=tmp_path / "data",
        database_url=database_url,
        extra_args=["--workers", "2"],
        extra_env=FAST,
    ).start()
    down: WebhookReceiver | None = None
    try:
        add_rule(server, kind="session_failed", webhook_url=f"{failing.url}/hook")
        add_rule(server, kind="session_failed", webhook_url=f"http://127.0.0.1:{down_port}/hook")
        session_id = run_session(server, state="Fail")

        def attempts_of(port: int) -> list[dict[str, Any]]:
            return [
                a
                for f in history(server)
                if str(port) in _rule_url(server, f["rule_id"])
                for a in f["history"]
            ]

        wait_until(lambda: len(failing.delivered()) == 1, "the failing receiver's alert")
        assert [r.status for r in failing.received] == [500, 503, 200]
        wait_until(lambda: len(attempts_of(down_port)) >= 2, "two refused attempts")
        down = WebhookReceiver(port=down_port).start()
        wait_until(lambda: len(down.delivered()) == 1, "the alert once the receiver is up")
        time.sleep(QUIET_TICKS * 0.2)
        assert len(failing.received) == 3 and len(down.received) == 1
        assert down.delivered()[0]["session"]["id"] == session_id

        by_port = {f["rule_id"]: f for f in history(server)}
        for fired in by_port.values():
            assert fired["status"] == "delivered"
            outcomes = [a["ok"] for a in fired["history"]]
            assert outcomes[-1] is True and not any(outcomes[:-1]) and len(outcomes) >= 3
            assert [a["attempt"] for a in fired["history"]] == list(range(1, len(outcomes) + 1))
        refused = attempts_of(down_port)[0]
        assert refused["status_code"] is None and "Connect" in refused["error"]
        failed_first = attempts_of(failing.port)[0]
        assert failed_first["status_code"] == 500
    finally:
        server.stop()
        failing.stop()
        if down is not None:
            down.stop()


def _rule_url(server: ServerProcess, rule_id: str) -> str:
    response = httpx.get(
        f"{server.url}/v2/alerts/rules",
        headers={"X-Agentops-Api-Key": server.api_key},
        timeout=30,
    )
    rules = {r["id"]: r["webhook_url"] for r in response.json()["data"]}
    return str(rules[rule_id])
