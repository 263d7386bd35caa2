"""Integration tests: the real provider libraries against fake providers on loopback, our SDK
against a real `agentops serve`. Each scenario runs in a fresh Python process (patches and SDK
state cannot leak between tests) and the test checks what the server stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from agentops_server.storage.records import usd_to_nanos
from tests.support.fake_providers import FakeProviders
from tests.support.server import ServerProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENT_PYTHON_ENV = "AGENTOPS_TEST_AGENT_PYTHON"
"""The interpreter that runs the agent scripts: this one, or (`make test-oldest`) one with the
oldest provider libraries the SDK supports (requirements/oldest.txt)."""


def agent_python() -> str:
    return os.environ.get(AGENT_PYTHON_ENV) or sys.executable


AGENT_TIMEOUT = 180
"""Seconds an agent script may run: then it prints every thread's stack and exits (faulthandler),
so a hang (at exit too, waiting for a non-daemon thread) fails the test and shows where."""

PRELUDE = f"""
import asyncio, faulthandler, json, os, sys, traceback
faulthandler.dump_traceback_later({AGENT_TIMEOUT}, exit=True)
from agentops._errors import set_internal_error_hook
internal_errors = []  # whatever the SDK swallowed fails the test
set_internal_error_hook(lambda exc: internal_errors.append(
    "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
out = {{}}
"""

INIT = """
import agentops
session = agentops.init(api_key=os.environ["T_API_KEY"], endpoint=os.environ["T_ENDPOINT"],
                        max_wait_time=100, {init_kwargs})
FAKE = os.environ["T_FAKE"]
"""

FINISH = """
cost = agentops.end_session("Success")
out["session_id"] = str(session.session_id)
out["end_session_cost"] = None if cost is None else str(cost)
out["internal_errors"] = internal_errors
print("RESULT " + json.dumps(out))
"""


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as providers:
        yield providers


def run_agent(
    server: ServerProcess,
    fake: FakeProviders,
    body: str,
    *,
    before_init: str = "",
    init_kwargs: str = "",
) -> dict[str, Any]:
    """Run an agent script in a fresh interpreter; returns its `out` dict (+ session_id)."""
    script = "\n".join(
        [
            PRELUDE,
            textwrap.dedent(before_init),
            INIT.format(init_kwargs=init_kwargs),
            textwrap.dedent(body),
            FINISH,
        ]
    )
    env = {
        **os.environ,
        "T_API_KEY": server.api_key,
        "T_ENDPOINT": server.url,
        "T_FAKE": fake.url,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        # the checkout under test first (a worktree's SDK, not the venv's editable install)
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT), str(REPO_ROOT / "sdk" / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    done = subprocess.run(
        [agent_python(), "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=AGENT_TIMEOUT + 60,  # a backstop: the agent's own watchdog comes first
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise AssertionError(f"agent failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    assert result.pop("internal_errors") == [], "the SDK swallowed internal errors"
    result["stderr"] = done.stderr
    return result


def export(server: ServerProcess, session_id: str) -> dict[str, Any]:
    response = server.export(session_id)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def by_tag(events: list[dict[str, Any]], key: str = "user") -> dict[str, dict[str, Any]]:
    """LLM events keyed by a request parameter each scenario sets to its own name."""
    keyed: dict[str, dict[str, Any]] = {}
    for event in events:
        params = event.get("params") or {}
        tag = params.get(key)
        if isinstance(tag, dict):  # anthropic metadata={"user_id": ...}
            tag = tag.get("user_id")
        assert tag not in keyed, f"two events for {tag!r}"
        keyed[str(tag)] = event
    return keyed


def expected_cost(
    model: str,
    provider: str,
    prompt: int,
    completion: int,
    cache_read: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
    at: datetime | None = None,
) -> Decimal:
    """What genai-prices' calc_price says, in USD rounded to the nano-dollar as stored."""
    values = {"input_tokens": prompt, "output_tokens": completion}
    if cache_read is not None:
        values["cache_read_tokens"] = cache_read
    if cache_write is not None:
        values["cache_write_tokens"] = cache_write
    if reasoning is not None:
        values["output_reasoning_tokens"] = reasoning
    price = calc_price(
        Usage(**values), model, provider_id=provider, genai_request_timestamp=at or now()
    )
    return Decimal(usd_to_nanos(price.total_price)) / 10**9


def now() -> datetime:
    return datetime.now(UTC)


def assert_totals_match(data: dict[str, Any], result: dict[str, Any]) -> None:
    """Session cost (stats, end_session's return) == the sum of its priced events, exactly."""
    costs = [Decimal(e["cost"]) for e in data["llms"] if e["cost"] is not None]
    total = sum(costs, Decimal(0))
    assert Decimal(data["stats"]["cost"]) == total
    assert result["end_session_cost"] is not None
    assert Decimal(result["end_session_cost"]) == total
    unknown = sum(1 for e in data["llms"] if e["cost"] is None)
    assert data["stats"]["unknown_cost_events"] == unknown
