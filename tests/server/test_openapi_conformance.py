"""The API matches its OpenAPI document: schemathesis, with all its checks, against a real
server (bounded examples, a fixed seed, so a run is repeatable). schemathesis.toml beside this
file names the two exceptions and why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import LiveServer

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 25
SEED = 20261203


@pytest.mark.slow
def test_the_api_matches_its_openapi_document(live: LiveServer, tmp_path: Path) -> None:
    _, jwt = live.start_session()
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        f"--config-file={CONFIG}",
        "run",
        f"{live.url}/openapi.json",
        "--checks=all",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        "--workers=1",
        "--phases=examples,coverage,fuzzing",
        "--no-color",
        "--warnings=off",
        f"--header=X-Agentops-Api-Key: {live.api_key}",
        f"--header=Authorization: Bearer {jwt}",
        f"--report-dir={tmp_path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    assert "No issues found" in done.stdout
