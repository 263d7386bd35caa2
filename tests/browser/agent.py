"""A test agent that records a session step by step over the v2 HTTP API (as agentops 0.3
does), so a browser test can watch the dashboard while it runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


class TestAgent:
    __test__ = False  # not a pytest class

    def __init__(self, url: str, api_key: str, tags: list[str] | None = None) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)
        self.headers = {"X-Agentops-Api-Key": api_key}
        self.session_id = str(uuid.uuid4())
        self.t0 = datetime.now(UTC)
        session = {"session_id": self.session_id, "tags": tags or []}
        created = self.client.post(
            "/v2/create_session", headers=self.headers, json={"session": session}
        )
        created.raise_for_status()
        self.headers["Authorization"] = f"Bearer {created.json()['jwt']}"

    def at(self, seconds: float) -> str:
        return (self.t0 + timedelta(seconds=seconds)).isoformat()

    def agent(self, agent_id: str, name: str) -> None:
        found = self.client.post(
            "/v2/create_agent", headers=self.headers, json={"id": agent_id, "name": name}
        )
        found.raise_for_status()

    def event(self, kind: str, name: str, start: float, seconds: float, **fields: Any) -> str:
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "event_type": kind,
            "init_timestamp": self.at(start),
            "end_timestamp": self.at(start + seconds),
            **fields,
        }
        if kind == "llms":
            body.setdefault("model", name)
            body.setdefault("prompt", [{"role": "user", "content": f"{name}?"}])
            body.setdefault("completion", {"role": "assistant", "content": "ok"})
            body.setdefault("prompt_tokens", 100)
            body.setdefault("completion_tokens", 20)
        elif kind == "tools":
            body.update(name=name)
        elif kind == "actions":
            body.update(action_type=name)
        else:
            body.update(error_type=name)
        self.send([body])
        return str(body["id"])

    def send(self, events: list[dict[str, Any]]) -> None:
        sent = self.client.post("/v2/create_events", headers=self.headers, json={"events": events})
        sent.raise_for_status()

    def end(self, state: str, reason: str | None = None, at: float | None = None) -> None:
        session = {
            "session_id": self.session_id,
            "end_state": state,
            "end_state_reason": reason,
            "end_timestamp": self.at(at) if at is not None else datetime.now(UTC).isoformat(),
        }
        done = self.client.post(
            "/v2/update_session", headers=self.headers, json={"session": session}
        )
        done.raise_for_status()

    def close(self) -> None:
        self.client.close()
