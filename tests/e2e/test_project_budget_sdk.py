"""Our SDK stops a runaway agent at the project's daily budget (issue 16, part 2).

The real openai library calls the fake provider in a loop, agentops (ours) records each call
on a real `agentops serve`, and the project has a daily limit of a little less than three
calls' cost. The server's answer to the events of the third call says the budget is reached
(X-AgentOps-Budget-Exceeded), and the SDK refuses the fourth call with agentops.BudgetExceeded,
naming the project's daily budget. Runs on SQLite and PostgreSQL.

Needs agentops.BudgetExceeded and the SDK's reading of the budget headers (the SDK side of
the contract, built on another branch): until both are merged, this test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require
from tests.integrations.conftest import expected_cost
from tests.support import fake_providers as fp
from tests.support.fake_providers import FakeProviders
from tests.support.postgres import fresh_database
from tests.support.server import ServerProcess, cli

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENT = """
import json, os
import agentops, openai
agentops.init(api_key=os.environ["T_API_KEY"], endpoint=os.environ["T_ENDPOINT"],
              instrument_llm_calls=True, max_wait_time=100)
client = openai.OpenAI(base_url=os.environ["T_FAKE"] + "/v1", api_key="sk-fake", max_retries=0)
out = {"calls": 0, "refused": None}
for n in range(20):  # a runaway loop: only the budget ends it
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}], user=f"c{n}")
    except agentops.BudgetExceeded as exc:
        out["refused"] = str(exc)
        break
    out["calls"] += 1
    agentops.flush(timeout=10)  # the call's event reaches the server; its answer comes back
agentops.end_session("Success")
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_ok: bool
) -> Iterator[ServerProcess]:
    """A real `agentops serve` that reads the budget for every ingest answer."""
    env = {"AGENTOPS_BUDGET_CHECK_SECONDS": "0"}
    if request.param == "sqlite":
        proc = ServerProcess(data_dir=tmp_path / "data", extra_env=env).start()
        try:
            yield proc
        finally:
            proc.stop()
        return
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        proc = ServerProcess(data_dir=tmp_path / "data", database_url=url, extra_env=env).start()
        try:
            yield proc
        finally:
            proc.stop()


def test_the_sdk_stops_llm_calls_once_the_projects_daily_budget_is_reached(
    server: ServerProcess,
) -> None:
    one_call = expected_cost(
        "gpt-4o-mini", "openai", fp.CHAT_PROMPT, fp.CHAT_COMPLETION, cache_read=fp.CHAT_CACHED
    )
    limit = one_call * 5 / 2  # reached by the third call, not by the second
    cli("projects", "budget", "--daily", str(limit), *server.db_args())
    with FakeProviders() as fake:
        env = {
            **os.environ,
            "T_API_KEY": server.api_key,
            "T_ENDPOINT": server.url,
            "T_FAKE": fake.url,
            "PYTHONPATH": str(REPO_ROOT),
        }
        done = subprocess.run(
            [sys.executable, "-c", AGENT], capture_output=True, text=True, env=env, timeout=180
        )
        sent_to_provider = len(fake.requests)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"agent failed:\n{done.stdout}\n{done.stderr}"
    out = json.loads(lines[-1][len("RESULT ") :])
    key = {"X-Agentops-Api-Key": server.api_key}
    budget = httpx.get(f"{server.url}/v2/budget", headers=key, timeout=30).json()["data"]
    assert budget["exceeded"] == ["daily"]  # the server's side: the signal was on
    assert out["calls"] == 3 and sent_to_provider == 3  # the fourth call was never sent
    refused = out["refused"]
    assert refused is not None and "daily budget" in refused
    assert "the project's daily budget of" in refused and "is reached" in refused
