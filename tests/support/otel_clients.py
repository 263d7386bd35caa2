"""Real OpenTelemetry clients (agentops 0.4.21, the openai-v2 and OpenInference
instrumentations) run as programs in their own virtualenvs, and what the tests need to check
their sessions: polling the export API, prices, and the span tree of an export.

The virtualenvs are built by scripts/setup-clients.sh from requirements/*.txt.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from genai_prices import Usage, calc_price

from agentops_server.storage.records import usd_to_nanos
from tests.conftest import REPO_ROOT, require
from tests.support.server import ServerProcess

SCRIPTS = REPO_ROOT / "tests" / "e2e" / "scripts"
AGENTOPS04_PYTHON = REPO_ROOT / ".venv-agentops04" / "bin" / "python"
OTEL_PYTHON = REPO_ROOT / ".venv-otel" / "bin" / "python"
EVENT_TYPES = ("actions", "llms", "tools", "errors")
EXPORT_WAIT_SECONDS = 20.0  # spans are exported asynchronously, in several requests


def client_python(python: Path) -> Path:
    """The venv's interpreter; a missing venv fails under AGENTOPS_TEST_REQUIRE_ALL/CI."""
    require(python.exists(), f"{python.parent.parent.name} (scripts/setup-clients.sh)")
    return python


def client_env() -> dict[str, str]:
    """This environment minus what would redirect or reconfigure the clients."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGENTOPS_", "OTEL_", "OPENAI_"))
        and k not in ("VIRTUAL_ENV", "PYTHONPATH")  # a checkout's agentops would shadow theirs
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _sdk_under_test(python: Path) -> dict[str, str]:
    """For a run of our own SDK (not a client venv's agentops), this checkout's sdk/src
    first on the path: a worktree's SDK, not the one the venv installed in editable mode."""
    if python.parent.parent.name.startswith(".venv-"):
        return {}
    return {"PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "sdk" / "src"), str(REPO_ROOT)])}


def run_client(
    python: Path, cwd: Path, script: str, *args: str, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run tests/e2e/scripts/SCRIPT with the client venv's python in `cwd` (agentops 0.4
    writes agentops.log there); returns its last stdout line, parsed."""
    done = subprocess.run(
        [str(python), str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env={**client_env(), **_sdk_under_test(python), **(extra_env or {})},
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, f"{script} {args[:1]} failed:\n{done.stdout}\n{done.stderr}"
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"{script} printed no JSON:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    result["_stderr"] = done.stderr
    return result


def wait_for_export(
    server: ServerProcess,
    session_id: str,
    ready: Callable[[dict[str, Any]], bool],
    timeout: float = EXPORT_WAIT_SECONDS,
) -> dict[str, Any]:
    """Poll GET /v2/sessions/{id}/export until `ready(export)`; fail showing the last answer."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        res = server.export(session_id)
        if res.status_code == 200:
            export: dict[str, Any] = res.json()
            if ready(export):
                return export
            last = json.dumps(export, indent=1)[:6000]
        else:
            last = f"HTTP {res.status_code}: {res.text[:2000]}"
        if time.monotonic() > deadline:
            raise AssertionError(f"session {session_id} not as expected after {timeout}s:\n{last}")
        time.sleep(0.2)


def ended_with(events: int) -> Callable[[dict[str, Any]], bool]:
    """Ready once the root span has ended the session and `events` events are stored."""

    def ready(export: dict[str, Any]) -> bool:
        stats = export["stats"]
        return bool(stats["end_timestamp"] is not None and stats["events"] >= events)

    return ready


def all_events(export: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(event, event_type=kind) for kind in EVENT_TYPES for event in export[kind]]


def event_name(event: dict[str, Any]) -> str:
    """What a person reads as the event's name: action type, tool name, model or error type."""
    kind = event["event_type"]
    key = {"actions": "action_type", "tools": "name", "llms": "model", "errors": "error_type"}
    return str(event[key[kind]])


def assert_tree(export: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every span event has a 16-hex id and a parent that is null (the root) or another event
    of the session; errors excepted (they name their trigger). Returns events by id."""
    spans = [e for e in all_events(export) if e["event_type"] != "errors"]
    by_id = {e["id"]: e for e in spans}
    assert len(by_id) == len(spans), "two events with one id"
    for event in spans:
        assert len(event["id"]) == 16 and int(event["id"], 16) >= 0, event["id"]
        parent = event["parent_id"]
        assert parent is None or parent in by_id, f"{event_name(event)}: parent {parent} missing"
    return by_id


def parent_of(by_id: dict[str, dict[str, Any]], event: dict[str, Any]) -> dict[str, Any] | None:
    parent = event["parent_id"]
    return None if parent is None else by_id[parent]


def expected_cost(
    model: str, prompt: int, completion: int, cache_read: int | None = None
) -> Decimal:
    """genai-prices' price for one OpenAI call, rounded to the nano-dollar as the server stores."""
    values = {"input_tokens": prompt, "output_tokens": completion}
    if cache_read is not None:
        values["cache_read_tokens"] = cache_read
    price = calc_price(
        Usage(**values), model, provider_id="openai", genai_request_timestamp=datetime.now(UTC)
    )
    return Decimal(usd_to_nanos(price.total_price)) / 10**9
