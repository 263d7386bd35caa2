"""The unmodified agentops==0.3.26 client (its own virtualenv) against `agentops serve`."""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from tests.conftest import REPO_ROOT, require
from tests.support.dashboard import printed_admin_password, signed_in_client
from tests.support.server import ServerProcess

PYTHON_026 = REPO_ROOT / ".venv-agentops026" / "bin" / "python"
SCRIPT = Path(__file__).parent / "scripts" / "agent026.py"

pytestmark = pytest.mark.slow


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOPS_")}
    env["AGENTOPS_LOGGING_LEVEL"] = "INFO"
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)  # a checkout's agentops on it would shadow 0.3.26's
    # 0.3.26 checks PyPI for updates on every init (a thread without timeout): send that
    # HTTPS request to a closed local port so the tests never depend on the network.
    for name in ("HTTPS_PROXY", "https_proxy"):
        env[name] = "http://127.0.0.1:9"
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


def last_json(output: str) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    assert lines, output
    value: dict[str, Any] = json.loads(lines[-1])
    return value


@pytest.fixture
def python026() -> Path:
    require(PYTHON_026.exists(), "agentops==0.3.26 in .venv-agentops026 (scripts/setup.sh --test)")
    return PYTHON_026


@pytest.mark.parametrize("engine", ["server", "pg_server"])
def test_agentops_026_full_session_priced_exported_field_by_field(
    engine: str, request: pytest.FixtureRequest, python026: Path
) -> None:
    server: ServerProcess = request.getfixturevalue(engine)  # SQLite, then PostgreSQL
    endpoint = server.url + "/"  # a trailing slash makes 0.3.26 send //v2/... paths
    parent = subprocess.Popen(
        [str(python026), str(SCRIPT), "parent", endpoint, server.api_key],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=client_env(),
    )
    try:
        assert parent.stdout is not None and parent.stdin is not None
        first = parent.stdout.readline()
        assert first.startswith("{"), first + (parent.stderr.read() if parent.stderr else "")
        session_id = json.loads(first)["session_id"]

        child = subprocess.run(
            [str(python026), str(SCRIPT), "child", endpoint, server.api_key, session_id],
            capture_output=True,
            text=True,
            env=client_env(),
            timeout=120,
        )
        assert child.returncode == 0, child.stderr
        child_end = last_json(child.stdout)

        parent.stdin.write("go\n")
        parent.stdin.flush()
        out, err = parent.communicate(timeout=120)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert parent.returncode == 0, err
    parent_end = last_json(out)

    usage = Usage(input_tokens=1000, output_tokens=500)
    expected = Decimal(calc_price(usage, "gpt-4o-mini").total_price)
    assert expected > 0
    # end_session returned the server's cost as a Decimal, equal to genai-prices' price
    assert parent_end == {"cost": str(parent_end["cost"]), "cost_type": "Decimal"}
    assert Decimal(parent_end["cost"]) == expected
    assert child_end["cost_type"] == "Decimal" and Decimal(child_end["cost"]) == expected
    # 0.3.26 always prints the cloud's replay URL, whatever the endpoint; with our server's
    # address in its place it opens the session's dashboard page
    link = re.search(r"https://app\.agentops\.ai(/drilldown\?session_id=[0-9a-f-]+)", err)
    assert link is not None and link.group(1) == f"/drilldown?session_id={session_id}", err
    browser = signed_in_client(server, printed_admin_password(server))
    try:
        page = browser.get(link.group(1), follow_redirects=True)
    finally:
        browser.close()
    assert page.status_code == 200
    assert page.url.path == f"/projects/{server.project_id}/sessions/{session_id}"
    assert session_id in page.text
    assert "Could not" not in err and "Failed" not in err, err

    stats_res = server.stats(session_id)
    assert stats_res.status_code == 200
    stats = stats_res.json()
    assert stats["session_id"] == session_id
    assert Decimal(stats["cost"]) == expected and stats["cost_complete"] is True
    assert stats["events"] == 5 and stats["errors"] == 1
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (1000, 500)
    assert stats["event_counts"] == {"llms": 1, "tools": 1, "actions": 2, "errors": 1}
    assert stats["end_state"] == "Success" and stats["end_state_reason"] == "all done"
    assert stats["end_timestamp"] is not None and stats["duration"] > 0

    res = server.export(session_id)
    assert res.status_code == 200
    export = res.json()
    assert export["stats"] == stats
    session = export["session"]
    assert session["id"] == session_id and session["project_id"] == server.project_id
    assert session["end_state"] == "Success" and session["end_state_reason"] == "all done"
    assert sorted(session["tags"]) == ["set-1", "set-2"]  # set_tags replaced e2e + added
    assert {"SDK", "OS"} <= set(session["host_env"])
    assert session["host_env"]["OS"]["OS"] == platform.system()
    installed = session["host_env"]["Installed Packages"]["Installed Packages"]
    assert installed["agentops"] == "0.3.26"

    actions = {a["action_type"]: a for a in export["actions"]}
    assert set(actions) == {"plan", "child-step"}
    assert actions["plan"]["params"] == {"goal": "answer"}
    assert actions["plan"]["returns"] == "ok"
    assert actions["child-step"]["params"] == {"n": 1}
    for row in export["actions"] + export["tools"] + export["llms"] + export["errors"]:
        assert row["session_id"] == session_id
        assert row["init_timestamp"] and row["end_timestamp"]

    (tool,) = export["tools"]
    assert tool["name"] == "search"
    assert tool["params"] == {"q": "agentops"} and tool["returns"] == ["r1", "r2"]

    (llm,) = export["llms"]
    assert llm["model"] == "gpt-4o-mini"
    assert llm["prompt"] == {"type": "chatml", "messages": [{"role": "user", "content": "Say hi"}]}
    assert llm["completion"] == {
        "type": "chatml",
        "messages": {"role": "assistant", "content": "Hello there"},
    }
    assert (llm["prompt_tokens"], llm["completion_tokens"]) == (1000, 500)
    assert Decimal(llm["cost"]) == expected and llm["cost_source"] == "computed"

    (error,) = export["errors"]
    assert error["error_type"] == "ValueError" and error["details"] == "bad x"
    assert error["code"] == "E1"
    assert error["trigger_event_id"] is None  # 0.3.26 does not send the link (reference §10)


def test_agentops_026_process_exit_without_end_is_closed_by_inactivity(
    tmp_path: Path, python026: Path
) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "server-data", extra_args=["--session-inactivity", "1"]
    ).start()
    try:
        done = subprocess.run(
            [str(python026), str(SCRIPT), "no-end", server.url, server.api_key],
            capture_output=True,
            text=True,
            env=client_env(),
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        session_id = last_json(done.stdout)["session_id"]
        stats = server.stats(session_id).json()
        assert stats["events"] == 1  # the queued event arrived through the exit flush
        deadline = time.monotonic() + 20
        while stats["end_timestamp"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
            stats = server.stats(session_id).json()
        assert stats["end_state"] == "Indeterminate"
        assert stats["end_timestamp"] == stats["last_event_at"]
        assert stats["end_state_reason"].startswith("No end received")
    finally:
        server.stop()


def test_agentops_026_sigterm_ends_the_session_as_fail(
    server: ServerProcess, python026: Path
) -> None:
    proc = subprocess.Popen(
        [str(python026), str(SCRIPT), "wait", server.url, server.api_key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=client_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("{"), line
        session_id = json.loads(line)["session_id"]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0  # 0.3.26's handler exits with 0 (reference §4.4)
    stats = server.stats(session_id).json()
    assert stats["end_state"] == "Fail"
    assert stats["end_state_reason"] == "Signal SIGTERM detected"
    assert stats["events"] == 1 and stats["end_timestamp"] is not None
