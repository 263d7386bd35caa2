"""The unmodified agentops==0.3.26 client and a project over its budget: it cannot be stopped
(it ignores the X-AgentOps-Budget-* headers), keeps working, and everything it sends is
stored, which is what the dashboard's notice and docs/api.md promise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_agentops026 import client_env, last_json, python026  # noqa: F401
from tests.support.server import ServerProcess, cli

pytestmark = pytest.mark.slow

AGENT = """
import json, sys
import agentops
from agentops import LLMEvent
session = agentops.init(api_key=sys.argv[2], endpoint=sys.argv[1])
for n in range(3):
    session.record(LLMEvent(model="gpt-4o-mini", prompt=[{"role": "user", "content": str(n)}],
                            completion={"role": "assistant", "content": "ok"},
                            prompt_tokens=100000, completion_tokens=50000), flush_now=True)
cost = session.end_session("Success")
print(json.dumps({"session_id": str(session.session_id), "cost": str(cost)}), flush=True)
"""


@pytest.mark.parametrize("engine", ["server", "pg_server"])
def test_an_agentops_026_client_is_only_warned(
    engine: str,
    request: pytest.FixtureRequest,
    python026: Path,  # noqa: F811 (the fixture of test_agentops026)
    tmp_path: Path,
) -> None:
    server: ServerProcess = request.getfixturevalue(engine)  # SQLite, then PostgreSQL
    cli("projects", "budget", "--daily", "0.05", *server.db_args())  # $0.045 a call
    env = client_env()
    env.pop("PYTHONPATH", None)  # the 0.3.26 package of its own virtualenv, not ours
    done = subprocess.run(
        [str(python026), "-c", AGENT, server.url, server.api_key],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = last_json(done.stdout)
    export = server.export(result["session_id"]).json()
    assert len(export["llms"]) == 3  # all three calls were recorded, none refused
    assert export["session"]["end_state"] == "Success"
    key = {"X-Agentops-Api-Key": server.api_key}
    budget = httpx.get(f"{server.url}/v2/budget", headers=key, timeout=30).json()["data"]
    assert budget["exceeded"] == ["daily"] and budget["today"]["spent_usd"] == "0.135"
    assert result["cost"] == "0.135"
