"""Project budgets over real HTTP, on SQLite and PostgreSQL: limits set by the CLI and the
REST API, the X-AgentOps-Budget-* headers on every ingest answer once the spend reaches a
limit (v2 and OTLP), gone when it is raised or cleared; one project's key never reads or
changes another's budget; bad limits are refused with a clear message."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_server.config import ServerConfig
from tests.conftest import require
from tests.server.conftest import LiveServer, llm, running
from tests.support.otlp_json import Span, export_request, new_trace_id
from tests.support.postgres import fresh_database
from tests.support.server import ServerProcess, cli, free_port

EXCEEDED, MESSAGE = "X-AgentOps-Budget-Exceeded", "X-AgentOps-Budget-Message"
FRESH = {"AGENTOPS_BUDGET_CHECK_SECONDS": "0"}  # every answer reads the budget: no waiting


@pytest.fixture(params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path: Path, postgres_ok: bool) -> Iterator[LiveServer]:
    """A live server that reads the budget for every ingest answer, on each engine."""
    if request.param == "sqlite":
        config = ServerConfig.build(data_dir=tmp_path / "data", port=free_port(), environ=FRESH)
        with running(config) as server:
            yield server
        return
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        config = ServerConfig.build(
            data_dir=tmp_path / "data", database_url=url, port=free_port(), environ=FRESH
        )
        with running(config) as server:
            yield server


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def costly_llm() -> dict[str, Any]:
    """An LLM call of today priced by the server at $0.75 (gpt-4o-mini, 1M in and 1M out)."""
    stamp = now_iso()
    return llm(
        init_timestamp=stamp,
        end_timestamp=stamp,
        prompt_tokens=1_000_000,
        completion_tokens=1_000_000,
    )


def where(live: LiveServer) -> list[str]:
    """The CLI options that reach the live server's database."""
    found = ["--data-dir", str(live.config.data_dir)]
    if not live.config.is_sqlite:
        found += ["--database-url", live.config.database_url]
    return found


def budget_cli(live: LiveServer, *args: str) -> str:
    return cli("projects", "budget", "--project", live.project_id, *where(live), *args)


def put_budget(live: LiveServer, key: str | None = None, **limits: Any) -> httpx.Response:
    return live.client.put(f"{live.url}/v2/budget", json=limits, headers=live.key_headers(key))


def test_headers_appear_at_the_daily_limit_and_go_when_it_is_raised_or_cleared(
    live: LiveServer,
) -> None:
    budget_cli(live, "--daily", "1")  # $1 a day; each call below costs $0.75
    session_id, jwt = live.start_session()
    first = live.send_events(jwt, [costly_llm()])
    assert first.status_code == 200 and EXCEEDED not in first.headers
    second = live.send_events(jwt, [costly_llm()])
    assert second.status_code == 200 and second.json()["inserted"] == 1  # stored all the same
    assert second.headers[EXCEEDED] == "daily"
    today = datetime.now(UTC).date().isoformat()
    assert second.headers[MESSAGE] == (
        f"the project's daily budget of $1.00 is reached ($1.50 spent on {today} UTC)"
    )
    # every authenticated ingest answer of the project carries it, errors included
    auth = live.auth(jwt)
    answers = [
        live.post("/v2/create_agent", {"id": str(uuid.uuid4()), "name": "a"}, headers=auth),
        live.post("/v2/update_session", {"session": {"tags": ["x"]}}, headers=auth),
        live.post("/v2/reauthorize_jwt", {"session_id": session_id}, headers=live.key_headers()),
        live.post("/v2/create_events", {"events": "not a list"}, headers=auth),
        live.post("/v2/developer_errors", {"type": "E"}, headers=live.key_headers()),
    ]
    new_session, _ = live.start_session()  # create_session's answer too (checked below)
    assert [a.headers.get(EXCEEDED) for a in answers] == ["daily"] * 5
    assert answers[3].status_code == 422
    again = live.post(
        "/v2/create_session",
        {"session": {"session_id": new_session}},
        headers=live.key_headers(),
    )
    assert again.status_code == 200 and again.headers[EXCEEDED] == "daily"
    # unauthenticated answers say nothing about any project
    refused = live.post("/v2/create_events", {"events": []}, headers={"Authorization": "Bearer x"})
    assert refused.status_code == 401 and EXCEEDED not in refused.headers

    budget_cli(live, "--daily", "5")  # raised above the $1.50 spent
    raised = live.send_events(jwt, [costly_llm()])
    assert (
        raised.status_code == 200
        and EXCEEDED not in raised.headers
        and MESSAGE not in raised.headers
    )
    budget_cli(live, "--daily", "2")  # $2.25 spent now
    assert live.send_events(jwt, []).headers[EXCEEDED] == "daily"
    shown = budget_cli(live, "--clear")
    assert "no limit" in shown
    assert EXCEEDED not in live.send_events(jwt, [costly_llm()]).headers


def test_rest_sets_the_monthly_limit_and_both_limits_are_named(live: LiveServer) -> None:
    _, jwt = live.start_session()
    assert live.send_events(jwt, [costly_llm(), costly_llm()]).status_code == 200
    monthly = put_budget(live, monthly_limit_usd="1.2")
    assert monthly.status_code == 200, monthly.text
    data = monthly.json()["data"]
    assert data["monthly_limit_usd"] == "1.2" and data["daily_limit_usd"] is None
    assert data["today"]["spent_usd"] == "1.5" and data["this_month"]["spent_usd"] == "1.5"
    assert data["exceeded"] == ["monthly"]
    answer = live.send_events(jwt, [])
    assert answer.headers[EXCEEDED] == "monthly"
    month = datetime.now(UTC).strftime("%Y-%m")
    assert answer.headers[MESSAGE] == (
        f"the project's monthly budget of $1.20 is reached ($1.50 spent in {month} UTC)"
    )
    both = put_budget(live, daily_limit_usd=1, monthly_limit_usd=1.25)
    assert both.json()["data"]["exceeded"] == ["daily", "monthly"]
    answer = live.send_events(jwt, [])
    assert answer.headers[EXCEEDED] == "daily, monthly"
    assert answer.headers[MESSAGE].startswith("the project's daily budget of $1.00 is reached")
    assert "; the project's monthly budget of $1.25 is reached" in answer.headers[MESSAGE]
    # PUT replaces both: a limit left out is cleared
    assert put_budget(live, daily_limit_usd="100").json()["data"]["monthly_limit_usd"] is None
    assert EXCEEDED not in live.send_events(jwt, []).headers
    put_budget(live, daily_limit_usd="1")
    cleared = live.client.delete(f"{live.url}/v2/budget", headers=live.key_headers())
    assert cleared.status_code == 200 and cleared.json()["data"]["daily_limit_usd"] is None
    assert EXCEEDED not in live.send_events(jwt, []).headers
    read = live.get("/v2/budget").json()["data"]
    assert (
        read["exceeded"] == [] and read["message"] is None and read["today"]["spent_usd"] == "1.5"
    )


def test_a_spend_past_nine_billion_dollars_is_summed_exactly(live: LiveServer) -> None:
    """2**63 nano-USD (9.2 billion USD) is past SQLite's 64-bit SUM, which raised: the budget
    answered 500 and ingest answers lost their signal. Three sessions near the session limit
    (4.6 billion USD each) pass it; both engines sum exactly."""
    put_budget(live, daily_limit_usd="10")
    stamp = now_iso()
    for _ in range(3):
        _, jwt = live.start_session()
        calls = [llm(init_timestamp=stamp, end_timestamp=stamp, cost=1_000_000)] * 3_100
        calls = [{**call, "id": str(uuid.uuid4())} for call in calls]
        assert live.send_events(jwt, calls).json()["inserted"] == 3_100
    read = live.get("/v2/budget")
    assert read.status_code == 200, read.text
    data = read.json()["data"]
    assert data["today"]["spent_usd"] == data["this_month"]["spent_usd"] == "9300000000"
    assert data["exceeded"] == ["daily"]
    assert live.send_events(jwt, []).headers[EXCEEDED] == "daily"


def test_otlp_answers_carry_the_signal(live: LiveServer) -> None:
    put_budget(live, daily_limit_usd="0.5")
    root = Span(trace_id=new_trace_id(), name="invoke_agent planner")  # the session
    chat = root.child(
        "chat gpt-4o-mini",
        kind=3,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1_000_000,
            "gen_ai.usage.output_tokens": 1_000_000,
        },
    )
    headers = {**live.key_headers(), "Content-Type": "application/json"}
    sent = live.client.post(
        f"{live.url}/v1/traces", json=export_request([root, chat]), headers=headers
    )
    assert sent.status_code == 200, sent.text
    assert sent.headers[EXCEEDED] == "daily"  # its own $0.75 reached the $0.50
    assert live.get("/v2/budget").json()["data"]["today"]["spent_usd"] == "0.75"
    logs = live.client.post(f"{live.url}/v1/logs", json={"resourceLogs": []}, headers=headers)
    assert logs.status_code == 200 and logs.headers[EXCEEDED] == "daily"
    put_budget(live, daily_limit_usd="0.76")
    later = live.client.post(f"{live.url}/v1/traces", json=export_request([]), headers=headers)
    assert later.status_code == 200 and EXCEEDED not in later.headers


def test_a_projects_key_reads_and_changes_only_its_own_budget(live: LiveServer) -> None:
    other = live.store.create_project("Other").id
    other_key = live.new_key(other)
    assert put_budget(live, daily_limit_usd="1").status_code == 200
    _, jwt = live.start_session()
    live.send_events(jwt, [costly_llm(), costly_llm()])

    theirs = live.get("/v2/budget", headers=live.key_headers(other_key)).json()["data"]
    assert theirs["daily_limit_usd"] is None and theirs["today"]["spent_usd"] == "0"
    assert put_budget(live, other_key, daily_limit_usd="500").status_code == 200
    assert live.client.delete(f"{live.url}/v2/budget", headers=live.key_headers(other_key))
    mine = live.get("/v2/budget").json()["data"]
    assert mine["daily_limit_usd"] == "1" and mine["exceeded"] == ["daily"]
    # the other project's ingest answers know nothing of this project's budget
    other_session = {"session": {"session_id": str(uuid.uuid4())}}
    answer = live.post("/v2/create_session", other_session, headers=live.key_headers(other_key))
    assert answer.status_code == 200 and EXCEEDED not in answer.headers
    assert live.client.get(f"{live.url}/v2/budget").status_code == 401


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"daily_limit_usd": -5}, "daily_limit_usd: must be more than 0 USD, got -5"),
        ({"daily_limit_usd": 0}, "daily_limit_usd: must be more than 0 USD, got 0"),
        ({"daily_limit_usd": "-1.5"}, "daily_limit_usd: must be more than 0 USD, got '-1.5'"),
        (
            {"monthly_limit_usd": "ten dollars"},
            "monthly_limit_usd: must be an amount of USD like 10 or 12.50, got 'ten dollars'",
        ),
        ({"monthly_limit_usd": "NaN"}, "monthly_limit_usd: must be an amount of USD like 10"),
        ({"monthly_limit_usd": "1e3"}, "monthly_limit_usd: must be written like 10 or 12.50"),
        ({"daily_limit_usd": True}, "daily_limit_usd: must be an amount of USD"),
        ({"daily_limit_usd": 1e12}, "daily_limit_usd: must be at most 1,000,000,000 USD"),
        ({"daily": 5}, "daily: unknown field (the fields are daily_limit_usd, monthly_limit"),
        ([5], "the body must be a JSON object with the fields daily_limit_usd, monthly_limit"),
    ],
)
def test_bad_limits_are_refused_with_a_clear_message(
    live: LiveServer, body: Any, problem: str
) -> None:
    answer = live.client.put(f"{live.url}/v2/budget", json=body, headers=live.key_headers())
    assert answer.status_code == 422
    assert problem in answer.json()["error"]["message"]
    assert live.get("/v2/budget").json()["data"]["daily_limit_usd"] is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-1", "--daily must be more than 0 USD, got '-1'"),
        ("abc", "--daily must be an amount of USD like 10 or 12.50, got 'abc'"),
        ("0", "--daily must be more than 0 USD, got '0'"),
    ],
)
def test_the_cli_refuses_bad_limits(live: LiveServer, value: str, problem: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentops_server", "projects", "budget", "--daily", value,
         "--project", live.project_id, *where(live)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and problem in done.stderr
    assert live.get("/v2/budget").json()["data"]["daily_limit_usd"] is None


def test_a_change_through_rest_is_seen_at_once_by_its_own_process(tmp_path: Path) -> None:
    """With the default AGENTOPS_BUDGET_CHECK_SECONDS (5): a process that just answered "no
    limit" still sees a limit set through it on its very next answer, and its removal."""
    config = ServerConfig.build(data_dir=tmp_path / "data", port=free_port(), environ={})
    assert config.budget_check_seconds == 5
    with running(config) as live:
        _, jwt = live.start_session()
        assert EXCEEDED not in live.send_events(jwt, [costly_llm()]).headers  # cached: none
        assert put_budget(live, daily_limit_usd="0.5").status_code == 200
        assert live.send_events(jwt, []).headers[EXCEEDED] == "daily"
        live.client.delete(f"{live.url}/v2/budget", headers=live.key_headers())
        assert EXCEEDED not in live.send_events(jwt, []).headers


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_every_worker_of_serve_workers_2_signals_the_limit(
    tmp_path: Path, postgres_ok: bool, engine: str
) -> None:
    """`serve --workers 2`: whichever process answers, the signal is the database's."""
    if engine == "postgres":
        require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() if engine == "postgres" else nullcontext(None) as url:
        server = ServerProcess(
            data_dir=tmp_path / "data",
            database_url=url,
            extra_args=["--workers", "2"],
            extra_env=FRESH,
        ).start()
        try:
            key = {"X-Agentops-Api-Key": server.api_key}
            body = {"session": {"session_id": str(uuid.uuid4())}}
            made = httpx.post(f"{server.url}/v2/create_session", json=body, headers=key)
            auth = {"Authorization": f"Bearer {made.json()['jwt']}", **key}
            events = {"events": [costly_llm(), costly_llm()]}
            sent = httpx.post(f"{server.url}/v2/create_events", json=events, headers=auth)
            assert sent.status_code == 200 and EXCEEDED not in sent.headers
            limit = {"daily_limit_usd": "1.5"}
            assert httpx.put(f"{server.url}/v2/budget", json=limit, headers=key).status_code == 200
            answers = [  # new connections: both workers answer some of them
                httpx.post(f"{server.url}/v2/create_events", json={"events": []}, headers=auth)
                for _ in range(8)
            ]
            assert [a.headers.get(EXCEEDED) for a in answers] == ["daily"] * 8
            assert httpx.delete(f"{server.url}/v2/budget", headers=key).status_code == 200
            answers = [
                httpx.post(f"{server.url}/v2/create_events", json={"events": []}, headers=auth)
                for _ in range(8)
            ]
            assert [a.headers.get(EXCEEDED) for a in answers] == [None] * 8
        finally:
            server.stop()
