"""The README's agent example, run as written (our SDK) against a real `agentops serve`."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


def readme_example() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("### Your agent", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python example under '### Your agent' in README.md"
    return match.group(1)


def test_readme_agent_example_runs_and_its_session_is_exported(server: ServerProcess) -> None:
    code = readme_example()
    assert len(code.strip().splitlines()) <= 12
    code = code.replace("<key printed by agentops serve>", server.api_key)
    code = code.replace("http://127.0.0.1:8000", server.url)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = Decimal(done.stdout.strip().rsplit("$", 1)[1])
    page = httpx.get(
        f"{server.url}/v2/sessions", headers={"X-Agentops-Api-Key": server.api_key}
    ).json()
    (session,) = page["data"]
    stats = session["stats"]
    assert session["end_state"] == "Success"
    assert stats["event_counts"]["actions"] == 1 and stats["event_counts"]["llms"] == 1
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (3, 2)
    assert printed == Decimal(stats["cost"]) and printed > 0
