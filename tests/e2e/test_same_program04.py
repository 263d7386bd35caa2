"""The same agentops 0.4-style program (scripts/same04.py), run unchanged with the real
agentops 0.4.21 (its venv, OTLP into our server) and with our SDK (v2), gives the same
sessions: end states, tags, event counts by type, tokens and cost. Where 0.4.21 loses
something (enum end states, cached tokens), the test names the difference."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Stack
from tests.support.fake_providers import (
    CHAT_CACHED,
    CHAT_COMPLETION,
    CHAT_PROMPT,
    RESPONSE_MODELS,
)
from tests.support.otel_clients import (
    AGENTOPS04_PYTHON,
    client_python,
    ended_with,
    expected_cost,
    run_client,
    wait_for_export,
)

pytestmark = pytest.mark.slow

OURS_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
MODEL = RESPONSE_MODELS["gpt-4o-mini"]
TOOL_COSTS = Decimal("0.01") + Decimal("0.02")  # get_weather, ask_model
# trace -> (end state, events): the `with` blocks end with an enum, which 0.4.21 drops
EXPECTED = {
    "workflow": ("Fail", 10),
    "pipeline": ("Success", 3),
    "dict_tags": ("Success", 0),
    "with_ok": ("Success", 1),
    "with_err": ("Fail", 1),
}
ENUM_ENDED = {"with_ok", "with_err"}


@pytest.fixture(scope="module")
def runs(stack: Stack) -> dict[str, dict[str, dict[str, Any]]]:
    """Both runs of same04.py against one server; each trace's export, per SDK."""
    pythons = {"0.4.21": client_python(AGENTOPS04_PYTHON), "ours": OURS_PYTHON}
    server = stack.server
    exports: dict[str, dict[str, dict[str, Any]]] = {}
    for sdk, python in pythons.items():
        args = (server.url, server.api_key, stack.fake.openai_url)
        ids = run_client(python, stack.workdir, "same04.py", *args)
        for complaint in ("Failed to export", "Unexpected error", "Traceback"):
            assert complaint not in ids["_stderr"], (sdk, ids["_stderr"])
        exports[sdk] = {}
        for trace, (_, events) in EXPECTED.items():
            exports[sdk][trace] = wait_for_export(server, ids[trace], ended_with(events))
    return exports


def summary(export: dict[str, Any]) -> dict[str, Any]:
    """What a user compares between two runs of one program."""
    session, stats = export["session"], export["stats"]
    return {
        "name": session["name"],
        "end_state": session["end_state"],
        "tags": sorted(session["tags"]),
        "event_counts": stats["event_counts"],
        "prompt_tokens": stats["prompt_tokens"],
        "completion_tokens": stats["completion_tokens"],
        "agents": sorted(a["name"] for a in export["agents"]),
    }


@pytest.mark.parametrize("trace", sorted(set(EXPECTED) - ENUM_ENDED))
def test_both_sdks_give_the_same_session(
    runs: dict[str, dict[str, dict[str, Any]]], trace: str
) -> None:
    theirs, ours = summary(runs["0.4.21"][trace]), summary(runs["ours"][trace])
    assert ours == theirs
    assert ours["end_state"] == EXPECTED[trace][0]


def test_the_workflow_has_the_same_events_tokens_and_tool_costs(
    runs: dict[str, dict[str, dict[str, Any]]],
) -> None:
    for sdk in ("0.4.21", "ours"):
        export = runs[sdk]["workflow"]
        stats = export["stats"]
        assert stats["event_counts"] == {"llms": 1, "tools": 3, "actions": 5, "errors": 1}, sdk
        assert (stats["prompt_tokens"], stats["completion_tokens"]) == (
            CHAT_PROMPT,
            CHAT_COMPLETION,
        ), sdk
        tool_costs = sum(Decimal(t.get("cost") or 0) for t in export["tools"])
        assert tool_costs == TOOL_COSTS, sdk
        (llm,) = export["llms"]
        assert llm["model"] == MODEL, sdk
        # the chat call nests under the @tool that made it, in both
        (ask,) = [t for t in export["tools"] if t["name"].split(".")[0] == "ask_model"]
        assert llm["parent_id"] == ask["id"], sdk
        (error,) = export["errors"]
        assert "tool exploded" in str(error["details"]), sdk


def test_the_cost_is_the_same_but_for_the_cached_tokens_0421_drops(
    runs: dict[str, dict[str, dict[str, Any]]],
) -> None:
    """0.4.21 never reports OpenAI's cached prompt tokens, so the server prices all 1,200 at
    the input rate; ours reports the 1,024 cached ones, priced at the cache-read rate."""
    theirs = Decimal(runs["0.4.21"]["workflow"]["stats"]["cost"])
    ours = Decimal(runs["ours"]["workflow"]["stats"]["cost"])
    assert theirs == TOOL_COSTS + expected_cost(MODEL, CHAT_PROMPT, CHAT_COMPLETION)
    assert ours == TOOL_COSTS + expected_cost(
        MODEL, CHAT_PROMPT, CHAT_COMPLETION, cache_read=CHAT_CACHED
    )
    for trace in ("pipeline", "dict_tags", "with_ok", "with_err"):
        assert runs["0.4.21"][trace]["stats"]["cost"] == runs["ours"][trace]["stats"]["cost"]


def test_with_blocks_keep_their_end_state_where_0421_drops_it(
    runs: dict[str, dict[str, dict[str, Any]]],
) -> None:
    for trace in sorted(ENUM_ENDED):
        theirs, ours = summary(runs["0.4.21"][trace]), summary(runs["ours"][trace])
        assert theirs["end_state"] == "Indeterminate"  # no end state on the wire
        assert ours["end_state"] == EXPECTED[trace][0]
        assert {k: v for k, v in ours.items() if k != "end_state"} == {
            k: v for k, v in theirs.items() if k != "end_state"
        }
