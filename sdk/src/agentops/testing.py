"""Test helpers for users of agentops: an in-memory server behind the Transport interface.

transport = InMemoryTransport()
agentops.init(api_key=str(uuid.uuid4()), transport=transport)
...
agentops.end_session("Success")
assert transport.events_of(session.session_id)[0]["event_type"] == "actions"
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from agentops import wire
from agentops._transport import Request, Response, TransportError

__all__ = ["InMemoryTransport"]


class InMemoryTransport:
    """Answers the v2 protocol like a server, and keeps what it received (decoded).

    `sessions` maps session id to its latest snapshot, `events` and `agents` are in arrival
    order (events deduplicated by id, as the server does), `requests` is every (path, body).
    `fail_next(503, 0)` makes the next requests answer 503, then fail to connect (0);
    `refuse_events(predicate, 500)` answers 500 to every create_events carrying an event the
    predicate picks (a server that can't store it), storing nothing of that request.
    """

    def __init__(self, token_cost: str = "0.00") -> None:
        self.token_cost = token_cost
        self.requests: list[tuple[str, Any]] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.agents: list[dict[str, Any]] = []
        self._event_ids: set[str] = set()
        self._tokens: dict[str, str] = {}
        self._failures: list[int] = []
        self._refusals: list[tuple[Callable[[dict[str, Any]], bool], int]] = []
        self._lock = threading.Lock()

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these statuses (0: no answer at all)."""
        with self._lock:
            self._failures.extend(statuses)

    def refuse_events(self, predicate: Callable[[dict[str, Any]], bool], status: int) -> None:
        """Answer `status` to create_events requests with an event (wire dict) it picks."""
        with self._lock:
            self._refusals.append((predicate, status))

    def clear_failures(self) -> None:
        """Forget the failures still planned by fail_next()."""
        with self._lock:
            self._failures.clear()

    def events_of(self, session_id: str | uuid.UUID) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("session_id") == str(session_id)]

    def send(self, request: Request) -> Response:
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
                if status == 0:
                    raise TransportError("InMemoryTransport: simulated connection failure")
                headers = {"retry-after": "0"} if status in (429, 503) else {}
                return _json(status, {"message": "simulated failure"}, headers)
            body = json.loads(request.body)
            self.requests.append((request.path, body))
            return self._answer(request, body)

    def _answer(self, request: Request, body: Any) -> Response:
        if not request.headers.get(wire.API_KEY_HEADER):
            return _json(401, {"message": "missing API key"})
        if request.path == wire.CREATE_SESSION:
            session = body["session"]
            sid = session["session_id"]
            self.sessions[sid] = {**self.sessions.get(sid, {}), **session}
            token = f"jwt-{uuid.uuid4()}"
            self._tokens[token] = sid
            return _json(200, {"status": "success", "jwt": token})
        auth = request.headers.get(wire.AUTHORIZATION_HEADER, "")
        sid_of_token = self._tokens.get(auth.removeprefix("Bearer "))
        if sid_of_token is None:
            return _json(401, {"message": "invalid token"})
        if request.path == wire.UPDATE_SESSION:
            self.sessions[sid_of_token] = {**self.sessions[sid_of_token], **body["session"]}
            return _json(200, {"status": "success", "token_cost": self.token_cost})
        if request.path == wire.CREATE_EVENTS:
            for predicate, status in self._refusals:
                if any(predicate(event) for event in body["events"]):
                    return _json(status, {"message": "simulated refusal"})
            for event in body["events"]:
                if event["id"] not in self._event_ids:
                    self._event_ids.add(event["id"])
                    self.events.append({**event, "session_id": sid_of_token})
            return _json(200, "Success")
        if request.path == wire.CREATE_AGENT:
            self.agents.append({**body, "session_id": sid_of_token})
            return _json(200, "Success")
        return _json(404, {"message": f"unknown path {request.path}"})


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=json.dumps(payload).encode(), headers=headers or {})
