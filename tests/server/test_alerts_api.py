"""Managing alert rules: the REST API (a key sees and changes its own project's rules only),
bad input as a clear 4xx, and the `agentops alerts` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from agentops_server.cli import main
from agentops_server.config import ConfigError, ServerConfig
from tests.server.conftest import LiveServer

HOOK = "https://hooks.example.com/services/T000/B000"


def add(live: LiveServer, key: str | None = None, **rule: Any) -> Any:
    return live.post("/v2/alerts/rules", rule, headers=live.key_headers(key))


def test_rules_are_added_listed_and_removed_through_the_api(live: LiveServer) -> None:
    created = add(live, kind="session_cost", threshold=2.5, webhook_url=HOOK)
    assert created.status_code == 201, created.text
    rule = created.json()["data"]
    assert rule["kind"] == "session_cost" and rule["threshold"] == "2.5"
    assert rule["description"] == "a session's cost went over 2.5 USD"
    rate = add(live, kind="error_rate", threshold=20, webhook_url=HOOK).json()["data"]
    assert (rate["window_minutes"], rate["min_sessions"]) == (60, 5)  # the defaults

    listed = live.get("/v2/alerts/rules").json()["data"]
    assert [r["id"] for r in listed] == [rule["id"], rate["id"]]
    removed = live.client.delete(
        f"{live.url}/v2/alerts/rules/{rule['id']}", headers=live.key_headers()
    )
    assert removed.status_code == 200 and removed.json()["data"]["id"] == rule["id"]
    assert [r["id"] for r in live.get("/v2/alerts/rules").json()["data"]] == [rate["id"]]
    assert live.get("/v2/alerts/history").json() == {"data": []}


def test_another_projects_key_cannot_see_or_change_the_rules(live: LiveServer) -> None:
    rule = add(live, kind="session_failed", webhook_url=HOOK).json()["data"]
    other_key = live.new_key(live.store.create_project("Other").id)
    assert live.get("/v2/alerts/rules", headers=live.key_headers(other_key)).json() == {"data": []}
    refused = live.client.delete(
        f"{live.url}/v2/alerts/rules/{rule['id']}", headers=live.key_headers(other_key)
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    history = live.get(
        "/v2/alerts/history", params={"rule_id": rule["id"]}, headers=live.key_headers(other_key)
    )
    assert history.json() == {"data": []}
    assert [r["id"] for r in live.get("/v2/alerts/rules").json()["data"]] == [rule["id"]]
    anonymous = live.client.get(f"{live.url}/v2/alerts/rules")
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"kind": "cpu_hot", "webhook_url": HOOK}, "unknown kind 'cpu_hot'"),
        ({"kind": "session_cost", "threshold": -1, "webhook_url": HOOK}, "positive number"),
        ({"kind": "session_cost", "webhook_url": HOOK}, "needs a threshold (USD)"),
        ({"kind": "session_duration", "threshold": "60", "webhook_url": HOOK}, "a JSON number"),
        ({"kind": "error_rate", "threshold": 100, "webhook_url": HOOK}, "below 100"),
        ({"kind": "error_rate", "threshold": 5, "window_minutes": 0, "webhook_url": HOOK},
         "at least 1"),
        ({"kind": "session_failed", "threshold": 3, "webhook_url": HOOK}, "takes no threshold"),
        ({"kind": "session_failed", "webhook_url": "ftp://example.com/x"}, "http:// or https://"),
        ({"kind": "session_failed", "webhook_url": "http://"}, "http:// or https://"),
        ({"kind": "session_failed", "webhook_url": "http://h:99999/"}, "http:// or https://"),
        ({"kind": "session_duration", "threshold": 3 * 86400, "webhook_url": HOOK},
         "at most 86400 (seconds, 1 day)"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_with_a_clear_message(
    live: LiveServer, rule: dict[str, Any], message: str
) -> None:
    response = add(live, **rule)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
    assert live.get("/v2/alerts/rules").json() == {"data": []}


def test_malformed_bodies_are_4xx(live: LiveServer) -> None:
    unknown_field = add(live, kind="session_failed", webhook_url=HOOK, treshold=1)
    assert unknown_field.status_code == 422
    not_json = live.post(
        "/v2/alerts/rules", content=b"{", headers={**live.key_headers(), "Content-Type": "json"}
    )
    assert 400 <= not_json.status_code < 500
    too_many = live.get("/v2/alerts/history", params={"limit": 10_000})
    assert too_many.status_code == 422


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_the_cli_adds_lists_shows_history_and_removes_rules(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert run("db", "upgrade", *data).exit_code == 0
    assert run("projects", "create", "Shop", *data).exit_code == 0
    added = run(
        "alerts", "add", "--kind", "daily_cost", "--threshold", "10", "--webhook", HOOK,
        "--json", *data,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    rule = json.loads(added.output)
    assert rule["description"] == "the project's cost of a UTC day went over 10 USD"
    listed = run("alerts", "list", *data)
    assert rule["id"] in listed.output and HOOK in listed.output
    assert "(no alert fired yet)" in run("alerts", "history", *data).output
    assert json.loads(run("alerts", "history", "--json", *data).output) == []

    bad = CliRunner().invoke(
        main, ["alerts", "add", "--kind", "session_cost", "--threshold", "-3", "--webhook", HOOK,
               *data],
    )  # fmt: skip
    assert bad.exit_code == 2 and "positive number" in bad.output
    unknown = CliRunner().invoke(main, ["alerts", "add", "--kind", "nope", "--webhook", HOOK])
    assert unknown.exit_code == 2 and "session_failed" in unknown.output

    removed = run("alerts", "remove", rule["id"], *data)
    assert removed.exit_code == 0 and f"Removed rule {rule['id']}" in removed.output
    again = CliRunner().invoke(main, ["alerts", "remove", rule["id"], *data])
    assert again.exit_code == 1 and "no alert rule" in again.output
    assert "(none)" in run("alerts", "list", *data).output


def test_the_alert_settings_are_read_from_the_environment_and_checked(tmp_path: Path) -> None:
    env = {
        "AGENTOPS_ALERT_INTERVAL_SECONDS": "0.5",
        "AGENTOPS_ALERT_RETRY_SECONDS": "2",
        "AGENTOPS_ALERT_MAX_ATTEMPTS": "3",
    }
    config = ServerConfig.build(data_dir=tmp_path, environ=env)
    assert (config.alert_interval_seconds, config.alert_retry_seconds) == (0.5, 2.0)
    assert config.alert_max_attempts == 3
    assert ServerConfig.from_json(config.to_json()) == config  # as `serve` hands it to workers
    for name, value, message in [
        ("AGENTOPS_ALERT_INTERVAL_SECONDS", "soon", "must be a number of seconds"),
        ("AGENTOPS_ALERT_INTERVAL_SECONDS", "0", "between 0.05 and 86400"),
        ("AGENTOPS_ALERT_RETRY_SECONDS", "nan", "between 0.05 and 86400"),
        ("AGENTOPS_ALERT_MAX_ATTEMPTS", "0", "at least 1"),
    ]:
        with pytest.raises(ConfigError, match=message):
            ServerConfig.build(data_dir=tmp_path, environ={name: value})
