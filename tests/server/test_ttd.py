"""Time-travel debugging with the unmodified agentops==0.3.26 client: a time-travel id minted
for a recorded session makes `fetch_time_travel_id` write completion overrides that replay the
recorded answers; an unknown id is a clear 404 the client reports without crashing."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

from tests.conftest import REPO_ROOT, require
from tests.support.server import ServerProcess, cli

PYTHON_026 = REPO_ROOT / ".venv-agentops026" / "bin" / "python"
OPENAI_PROMPT = [
    {"role": "system", "content": "Answer in one word."},
    {"role": "user", "content": "Say hi"},
]
ANTHROPIC_PROMPT = [{"role": "user", "content": "2+2?"}]
ANTHROPIC_RESPONSE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-sonnet-20241022",
    "content": [{"type": "text", "text": "4"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 1},
}
FETCH = """
import json, sys
from agentops.time_travel import fetch_time_travel_id, find_cache_hit
fetch_time_travel_id(sys.argv[1])
try:
    overrides = json.load(open("agentops_time_travel.json"))["completion_overrides"]
except FileNotFoundError:
    sys.exit(0)
print(json.dumps({"keys": len(overrides), "hits": [find_cache_hit(m, overrides)
                                                   for m in json.loads(sys.argv[2])]}))
"""


def llm_event(
    second: int, prompt: Any, completion: Any, model: str, returns: Any = ""
) -> dict[str, Any]:
    """An LLMEvent as 0.3.26 sends it (its openai integration sends `returns` as "")."""
    return {
        "id": str(uuid.uuid4()),
        "event_type": "llms",
        "init_timestamp": f"2026-11-21T12:36:{second:02d}.000000+00:00",
        "end_timestamp": f"2026-11-21T12:36:{second:02d}.500000+00:00",
        "params": {"temperature": 0},
        "returns": returns,
        "prompt": prompt,
        "completion": completion,
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "model": model,
    }


def recorded_session(server: ServerProcess) -> str:
    session_id = str(uuid.uuid4())
    headers = {"X-Agentops-Api-Key": server.api_key}
    created = httpx.post(
        f"{server.url}/v2/create_session",
        json={"session": {"session_id": session_id}},
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 200, created.text
    events = [
        llm_event(
            1,
            OPENAI_PROMPT,
            {"role": "assistant", "content": "Hi!", "refusal": None, "tool_calls": None},
            "gpt-4o-mini-2024-07-18",
        ),
        llm_event(
            2,
            ANTHROPIC_PROMPT,
            {"role": "assistant", "content": "4"},
            "claude-3-5-sonnet-20241022",
            returns=ANTHROPIC_RESPONSE,
        ),
        llm_event(3, "a plain-text prompt", "a plain-text answer", "gpt-3.5-turbo-instruct"),
        {
            "id": str(uuid.uuid4()),
            "event_type": "actions",
            "action_type": "step",
            "init_timestamp": "2026-11-21T12:36:34Z",
        },
    ]
    sent = httpx.post(
        f"{server.url}/v2/create_events",
        json={"events": events},
        headers={"Authorization": f"Bearer {created.json()['jwt']}"},
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    return session_id


def mint(server: ServerProcess, session_id: str, key: str | None = None) -> httpx.Response:
    headers = {"X-Agentops-Api-Key": key} if key else {}
    return httpx.post(f"{server.url}/v2/sessions/{session_id}/ttd", headers=headers, timeout=30)


def run_026(server: ServerProcess, cwd: Path, ttd_id: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOPS_")}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)  # its own agentops, never this checkout's
    env["AGENTOPS_API_ENDPOINT"] = server.url
    prompts = json.dumps([OPENAI_PROMPT, ANTHROPIC_PROMPT, [{"role": "user", "content": "new"}]])
    return subprocess.run(
        [str(PYTHON_026), "-c", FETCH, ttd_id, prompts],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_agentops_026_replays_a_recorded_session_through_a_minted_ttd_id(
    server: ServerProcess, tmp_path: Path
) -> None:
    require(PYTHON_026.exists(), "agentops==0.3.26 in .venv-agentops026 (scripts/setup.sh --test)")
    session_id = recorded_session(server)
    assert mint(server, session_id).status_code == 401  # minting needs the project's key
    assert mint(server, str(uuid.uuid4()), server.api_key).status_code == 404
    minted = mint(server, session_id, server.api_key)
    assert minted.status_code == 200, minted.text
    ttd_id = minted.json()["data"]["ttd_id"]
    assert minted.json()["data"]["url"].endswith(f"/v2/ttd/{ttd_id}")

    answer = httpx.get(f"{server.url}/v2/ttd/{ttd_id}", timeout=30)  # no credential, as 0.3.26
    assert answer.status_code == 200, answer.text
    items = answer.json()
    assert [item["prompt"] for item in items] == [
        {"type": "chatml", "messages": OPENAI_PROMPT},
        {"type": "chatml", "messages": ANTHROPIC_PROMPT},
    ]  # in time order; the plain-text call can never be replayed by the client: left out
    chat = ChatCompletion.model_validate_json(items[0]["returns"])
    assert chat.choices[0].message.content == "Hi!"
    assert chat.model == "gpt-4o-mini-2024-07-18"
    assert chat.usage is not None and chat.usage.prompt_tokens == 100
    message = Message.model_validate_json(items[1]["returns"])
    assert message.model_dump(mode="json", exclude_none=True) == {
        k: v for k, v in ANTHROPIC_RESPONSE.items() if v is not None
    }

    done = run_026(server, tmp_path, ttd_id)
    assert done.returncode == 0, done.stderr
    assert "Time Travel | Activated" in done.stdout, done.stdout
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["keys"] == 2
    hits = result["hits"]
    assert json.loads(hits[0])["choices"][0]["message"]["content"] == "Hi!"
    assert json.loads(hits[1])["content"][0]["text"] == "4"
    assert hits[2] is None  # a prompt that was never recorded calls the provider
    switch = (tmp_path / ".agentops_time_travel.yaml").read_text()
    assert "Time_Travel_Debugging_Active: true" in switch


@pytest.mark.slow
def test_unknown_forged_and_revoked_ttd_ids_are_clear_errors(
    server: ServerProcess, tmp_path: Path
) -> None:
    session_id = recorded_session(server)
    ttd_id = mint(server, session_id, server.api_key).json()["data"]["ttd_id"]
    prefix, body, signature = ttd_id.split(".")
    forged = f"{prefix}.{body}.{'A' * len(signature)}"
    for wrong in (session_id, forged, "nonsense", "ttd1.e30.x", "ttd1.e30.é"):
        response = httpx.get(f"{server.url}/v2/ttd/{wrong}", timeout=30)
        assert response.status_code == 404, (wrong, response.text)
        error = response.json()["error"]
        assert error["code"] == "ttd_not_found"
        assert "POST /v2/sessions/<session id>/ttd" in error["message"]

    if PYTHON_026.exists():  # the 0.3.26 client reports it and carries on
        done = run_026(server, tmp_path, session_id)
        assert done.returncode == 0, done.stderr
        assert "Failed to fetch TTD with status code 404" in done.stdout
        assert not (tmp_path / "agentops_time_travel.json").exists()

    cli("keys", "revoke", server.api_key, *server.db_args())
    response = httpx.get(f"{server.url}/v2/ttd/{ttd_id}", timeout=30)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "revoked_api_key"
