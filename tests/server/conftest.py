"""A real server for HTTP tests: create_app + uvicorn on 127.0.0.1 in a thread, real SQLite."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from agentops_server.app import create_app
from agentops_server.auth.keys import issue_key
from agentops_server.config import ServerConfig
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import SqlStore, open_store
from tests.conftest import require
from tests.support.postgres import fresh_database
from tests.support.server import free_port


@dataclass
class LiveServer:
    """A running server with one project ("Test") and its API key."""

    url: str
    config: ServerConfig
    store: SqlStore
    api_key: str
    project_id: str
    app: FastAPI
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["json"] = body
        return self.client.post(self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Agentops-Api-Key": self.api_key, **kwargs.pop("headers", {})}
        return self.client.get(self.url + path, headers=headers, **kwargs)

    def key_headers(self, key: str | None = None) -> dict[str, str]:
        return {"X-Agentops-Api-Key": key or self.api_key}

    def start_session(self, session_id: str | None = None, **fields: Any) -> tuple[str, str]:
        """create_session as 0.3.26 sends it; returns (session id, jwt)."""
        session_id = session_id or str(uuid.uuid4())
        snapshot = {
            "end_timestamp": None,
            "end_state": "Indeterminate",
            "session_id": session_id,
            "init_timestamp": "2026-11-21T12:36:31.832889+00:00",
            "tags": ["t-default"],
            "video": None,
            "end_state_reason": None,
            "host_env": {"OS": {"OS": "Linux"}},
            "config": "",
            "jwt": None,
            "token_cost": "",
            "event_counts": {"llms": 0, "tools": 0, "actions": 0, "errors": 0, "apis": 0},
            **fields,
        }
        res = self.post("/v2/create_session", {"session": snapshot}, headers=self.key_headers())
        assert res.status_code == 200, res.text
        return session_id, str(res.json()["jwt"])

    def auth(self, jwt: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {jwt}", "X-Agentops-Api-Key": self.api_key}

    def send_events(self, jwt: str, events: list[dict[str, Any]]) -> httpx.Response:
        return self.post("/v2/create_events", {"events": events}, headers=self.auth(jwt))

    def stats(self, session_id: str) -> dict[str, Any]:
        res = self.get(f"/v2/sessions/{session_id}/stats")
        assert res.status_code == 200, res.text
        body: dict[str, Any] = res.json()
        return body

    def new_key(self, project_id: str | None = None) -> str:
        return issue_key(self.store, project_id or self.project_id).secret


def start_live(
    config: ServerConfig, extend: Callable[[FastAPI], None] | None = None
) -> tuple[uvicorn.Server, threading.Thread, SqlStore]:
    """The app of `config` served in a thread; `extend` may change the app before it starts."""
    upgrade(config.database_url)
    store = open_store(config.database_url)
    app = create_app(config, store)
    if extend is not None:
        extend(app)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=config.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the live server did not start")
        time.sleep(0.02)
    return server, thread, store


@pytest.fixture
def live_config(tmp_path: Path) -> ServerConfig:
    return ServerConfig.build(data_dir=tmp_path / "data", port=free_port(), environ={})


@contextmanager
def running(
    config: ServerConfig, extend: Callable[[FastAPI], None] | None = None
) -> Iterator[LiveServer]:
    """A live server for `config`, with a project "Test" and its key; stopped afterwards."""
    server, thread, store = start_live(config, extend)
    app = server.config.app
    assert isinstance(app, FastAPI)
    project = store.create_project("Test")
    key = issue_key(store, project.id).secret
    live = LiveServer(
        url=f"http://127.0.0.1:{config.port}",
        config=config,
        store=store,
        api_key=key,
        project_id=project.id,
        app=app,
    )
    try:
        yield live
    finally:
        live.client.close()
        server.should_exit = True
        thread.join(30)
        store.close()


@pytest.fixture
def live(live_config: ServerConfig) -> Iterator[LiveServer]:
    with running(live_config) as server:
        yield server


@pytest.fixture
def pg_live(tmp_path: Path, postgres_ok: bool) -> Iterator[LiveServer]:
    """The same live server on a fresh PostgreSQL database."""
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        config = ServerConfig.build(
            data_dir=tmp_path / "data", database_url=url, port=free_port(), environ={}
        )
        with running(config) as server:
            yield server


def action(**fields: Any) -> dict[str, Any]:
    """An ActionEvent as 0.3.26 puts it on the wire."""
    return {
        "id": str(uuid.uuid4()),
        "event_type": "actions",
        "init_timestamp": "2026-11-21T12:36:31.888890+00:00",
        "end_timestamp": "2026-11-21T12:36:31.904275+00:00",
        "params": {"depth": 2, "self": "", "q": "hello"},
        "returns": {"answer": "HELLO"},
        "agent_id": None,
        "session_id": "ignored",
        "action_type": "agent-think",
        "logs": None,
        "screenshot": None,
        "name": "agent-think",
        **fields,
    }


def llm(**fields: Any) -> dict[str, Any]:
    """An LLMEvent as 0.3.26 puts it on the wire (gpt-4o-mini, 100 in / 50 out)."""
    return {
        "id": str(uuid.uuid4()),
        "event_type": "llms",
        "init_timestamp": "2026-11-21T12:36:32.000000+00:00",
        "end_timestamp": "2026-11-21T12:36:33.000000+00:00",
        "params": {"temperature": 0},
        "returns": None,
        "agent_id": None,
        "session_id": "ignored",
        "thread_id": None,
        "prompt": [{"role": "user", "content": "hi"}],
        "prompt_tokens": 100,
        "completion": {"role": "assistant", "content": "hello"},
        "completion_tokens": 50,
        "cost": None,
        "model": "gpt-4o-mini",
        **fields,
    }


def tool(**fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "event_type": "tools",
        "init_timestamp": "2026-11-21T12:36:34.000000+00:00",
        "end_timestamp": "2026-11-21T12:36:34.500000+00:00",
        "params": {"k": 3, "query": "agentops"},
        "returns": ["r1", "r2"],
        "agent_id": None,
        "session_id": "ignored",
        "name": "web-search",
        "logs": None,
        "tool_name": "web-search",
        **fields,
    }


def error(**fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "event_type": "errors",
        "init_timestamp": "2026-11-21T12:36:35.000000+00:00",
        "end_timestamp": "2026-11-21T12:36:35.000000+00:00",
        "params": None,
        "returns": None,
        "agent_id": None,
        "session_id": "ignored",
        "trigger_event": "",
        "exception": None,
        "error_type": "ValueError",
        "code": None,
        "details": "bad x",
        "logs": "Traceback (most recent call last):\nValueError: bad x\n",
        **fields,
    }
