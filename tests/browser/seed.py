"""Seeding a server: flat sessions through the real SDK, in a subprocess (the SDK keeps
process-wide state); a nested session through the v2 HTTP API, which carries parent ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from agentops_server.config import SQLITE_FILENAME
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.sql_store import open_store
from tests.support.server import ServerProcess

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from datetime import UTC, datetime, timedelta
    import agentops
    from agentops import ActionEvent, ErrorEvent, LLMEvent, ToolEvent

    spec = json.loads(sys.argv[1])
    ids = []
    clock = datetime.now(UTC)

    def span(seconds):
        # a start and end `seconds` apart on a clock that moves forward as events happen
        global clock
        start = clock
        clock = clock + timedelta(seconds=seconds)
        return {"init_timestamp": start.isoformat(), "end_timestamp": clock.isoformat()}

    agentops.init(api_key=spec["api_key"], endpoint=spec["endpoint"], auto_start_session=False,
                  instrument_llm_calls=False)
    for item in spec["sessions"]:
        session = agentops.start_session(tags=item["tags"])
        clock = datetime.now(UTC)
        for i, prompt in enumerate(item["prompts"]):
            session.record(LLMEvent(
                prompt=[{"role": "system", "content": "You are terse."},
                        {"role": "user", "content": prompt}],
                completion={"role": "assistant", "content": f"answer {i}"},
                model="gpt-4o-mini", prompt_tokens=1200, completion_tokens=300, **span(2.5)))
            session.record(ToolEvent(name="web-search", params={"q": prompt[:20]},
                                     returns=["r1", "r2"], **span(1.2)))
        session.record(ActionEvent(action_type="plan", params={"step": 1}, returns="ok",
                                   **span(0.8)))
        if item.get("error"):
            session.record(ErrorEvent(error_type="ValueError", details="bad input",
                                      logs="Traceback (most recent call last):\\n  ValueError",
                                      **span(0.1)))
        session.end_session(item["end_state"], end_state_reason=item.get("reason"))
        ids.append(str(session.session_id))
    agentops.flush()
    print(json.dumps(ids))
    """
)


def seed_sessions(server: ServerProcess, sessions: list[dict[str, object]]) -> list[str]:
    """Record `sessions` ({tags, prompts, end_state, reason?, error?}) with the real SDK and
    return their ids."""
    spec = {"api_key": server.api_key, "endpoint": server.url, "sessions": sessions}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AGENTOPS_LOG_LEVEL": "WARNING"},
    )
    if done.returncode != 0:
        raise AssertionError(f"seeding failed:\n{done.stdout}\n{done.stderr}")
    ids: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return ids


def _event(
    kind: str, name: str, start: datetime, seconds: float, parent: str | None
) -> dict[str, Any]:
    """One event as a v2 client sends it to create_events, with its parent's id."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "event_type": kind,
        "init_timestamp": start.isoformat(),
        "end_timestamp": (start + timedelta(seconds=seconds)).isoformat(),
        "parent_id": parent,
    }
    if kind == "llms":
        body.update(
            model="gpt-4o-mini",
            prompt=[{"role": "user", "content": f"{name}: what next?"}],
            completion={"role": "assistant", "content": f"{name}: done"},
            prompt_tokens=400,
            completion_tokens=80,
        )
    elif kind == "tools":
        body.update(name=name, params={"q": name}, returns=["r1"])
    else:
        body.update(action_type=name, params={"step": name})
    return body


@dataclass
class Tree:
    """A nested session recorded through the v2 API: event ids by name."""

    session_id: str
    ids: dict[str, str]


def seed_tree(server: ServerProcess, fan_out: int = 230) -> Tree:
    """A session whose events nest, as an agent framework records them: a plan; an agent
    holding a search (with an LLM call inside), an LLM call and a summary step (three calls);
    a batch step with `fan_out` tool calls (more than one page); a final answer; and a span
    whose parent never arrived (an orphan). Then its name, metadata and uploaded logs."""
    session_id = str(uuid.uuid4())
    headers = {"X-Agentops-Api-Key": server.api_key}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        created = client.post(
            "/v2/create_session", headers=headers, json={"session": {"session_id": session_id}}
        )
        created.raise_for_status()
        headers["Authorization"] = f"Bearer {created.json()['jwt']}"
        t0 = datetime.now(UTC)
        ids: dict[str, str] = {}
        events: list[dict[str, Any]] = []

        def add(kind: str, name: str, at: float, seconds: float, parent: str | None) -> str:
            found = _event(kind, name, t0 + timedelta(seconds=at), seconds, parent)
            events.append(found)
            ids.setdefault(name, found["id"])
            return str(found["id"])

        add("actions", "plan", 0, 1, None)
        agent = add("actions", "research-agent", 1, 8, None)
        search = add("tools", "web-search", 1.2, 1.8, agent)
        add("llms", "rank-results", 1.5, 1, search)
        add("llms", "draft", 3, 2, agent)
        summary = add("actions", "summarize", 5, 3.5, agent)
        for i in range(3):
            add("llms", f"summary-{i}", 5.2 + i, 0.9, summary)
        batch = add("actions", "batch", 9, 4, None)
        for i in range(fan_out):
            add("tools", f"fetch-{i:03}", 9 + 4 * i / fan_out, 0.05, batch)
        add("tools", "late-span", 13.2, 0.3, "a-span-that-never-arrived")
        add("llms", "answer", 13.5, 1.5, None)
        sent = client.post("/v2/create_events", headers=headers, json={"events": events})
        sent.raise_for_status()
        ended = client.post(
            "/v2/update_session",
            headers=headers,
            json={
                "session": {
                    "session_id": session_id,
                    "end_state": "Success",
                    "end_timestamp": (t0 + timedelta(seconds=15)).isoformat(),
                }
            },
        )
        ended.raise_for_status()
    return Tree(session_id, ids)


def describe_session(
    server: ServerProcess, session_id: str, name: str, metadata: dict[str, Any], logs: list[str]
) -> None:
    """What OpenTelemetry ingestion keeps beside the events (a trace's name and metadata, the
    print() output agentops 0.4 uploads), written through the Store into the server's database."""
    url = server.database_url or f"sqlite:///{server.data_dir / SQLITE_FILENAME}"
    store = open_store(url)
    try:
        write = SessionWrite(
            id=session_id, project_id=server.project_id, name=name, metadata=metadata
        )
        store.write_session(write, create=False)
        for body in logs:
            store.add_session_log(session_id, body)
    finally:
        store.close()
