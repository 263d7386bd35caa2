"""Revoking an API key stops the session tokens it minted, in every process sharing the
database, within AGENTOPS_KEY_CHECK_SECONDS, even when the client sends only the token."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_server.auth.revocation import KeyStatusCache
from agentops_server.auth.tokens import TokenClaims, TokenSigner
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import open_store
from tests.support.server import ServerProcess, cli

SECRET = "test-secret-shared-by-every-replica"
CHECK_SECONDS = 1
MARGIN_SECONDS = 1.0


def action() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "event_type": "actions",
        "init_timestamp": "2026-11-21T12:36:31.888890+00:00",
        "end_timestamp": "2026-11-21T12:36:31.904275+00:00",
        "action_type": "step",
    }


def create_session(server: ServerProcess, session_id: str) -> str:
    response = httpx.post(
        f"{server.url}/v2/create_session",
        headers={"X-Agentops-Api-Key": server.api_key},
        json={"session": {"session_id": session_id, "init_timestamp": "2026-11-21T12:36:31Z"}},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["jwt"])


def post_with_token(
    url: str, path: str, token: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    """A fresh connection each time, so `--workers 2` spreads requests over both processes."""
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["X-Agentops-Api-Key"] = key
    return httpx.post(f"{url}{path}", json=body, headers=headers, timeout=30)


def stats(server: ServerProcess, key: str, session_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/v2/sessions/{session_id}/stats",
        headers={"X-Agentops-Api-Key": key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.mark.slow
def test_revoked_key_stops_its_tokens_in_every_process(tmp_path: Path, database_url: str) -> None:
    env = {"AGENTOPS_SECRET_KEY": SECRET, "AGENTOPS_KEY_CHECK_SECONDS": str(CHECK_SECONDS)}
    first = ServerProcess(
        data_dir=tmp_path / "a",
        database_url=database_url,
        extra_args=["--workers", "2"],
        extra_env=env,
    ).start()
    second: ServerProcess | None = None
    try:
        # a second, separate server on the same database (a replica), same project and key
        second = ServerProcess(
            data_dir=tmp_path / "b",
            database_url=database_url,
            extra_env=env,
            api_key=first.api_key,
            project_id=first.project_id,
        ).start()
        session_id = str(uuid.uuid4())
        token = create_session(first, session_id)
        acknowledged = 0
        for server in (first, second, first, second):
            events = [action(), action()]
            # as agentops 0.3 does, the API key rides along (and is cached as active)
            response = post_with_token(
                server.url, "/v2/create_events", token, {"events": events}, key=first.api_key
            )
            assert response.status_code == 200, response.text
            acknowledged += len(events)

        reauthorized = httpx.post(
            f"{second.url}/v2/reauthorize_jwt",
            headers={"X-Agentops-Api-Key": first.api_key},
            json={"session_id": session_id},
            timeout=30,
        )
        assert reauthorized.status_code == 200, reauthorized.text
        tokens = [token, str(reauthorized.json()["jwt"])]

        cli("keys", "revoke", first.api_key, *first.db_args(), env=env)
        new_key = json.loads(cli("keys", "create", "--json", *first.db_args(), env=env))["api_key"]
        time.sleep(CHECK_SECONDS + MARGIN_SECONDS)  # the documented bound of the cache

        # each on a fresh connection, which either process of the first server may accept
        attempts = [(url, t) for url in (first.url, second.url) for t in tokens] * 3
        for url, minted in attempts:
            response = post_with_token(url, "/v2/create_events", minted, {"events": [action()]})
            assert response.status_code == 401, response.text
            error = response.json()["error"]
            assert error["code"] == "revoked_api_key"
            assert "revoked" in error["message"]
        # nor with the revoked key sent alongside, though it was cached as active before
        for url in (first.url, second.url):
            response = post_with_token(
                url, "/v2/create_events", token, {"events": [action()]}, key=first.api_key
            )
            assert response.status_code == 401, response.text
        # an active key of the same project sent alongside does not revive the token
        response = post_with_token(
            second.url, "/v2/create_events", token, {"events": [action()]}, key=new_key
        )
        assert (response.status_code, response.json()["error"]["code"]) == (401, "revoked_api_key")
        end = {"session": {"end_state": "Success", "end_timestamp": "2026-11-21T12:40:00Z"}}
        response = post_with_token(first.url, "/v2/update_session", token, end)
        assert response.status_code == 401
        agent = {"id": str(uuid.uuid4()), "name": "late"}
        response = post_with_token(first.url, "/v2/create_agent", token, agent)
        assert response.status_code == 401

        stored = stats(first, new_key, session_id)
        assert (stored["events"], stored["end_state"]) == (acknowledged, "Indeterminate")

        # a new session started with the active key works as before
        first.api_key = new_key
        fresh = create_session(first, str(uuid.uuid4()))
        response = post_with_token(first.url, "/v2/create_events", fresh, {"events": [action()]})
        assert response.status_code == 200, response.text
    finally:
        if second is not None:
            second.stop()
        first.stop()


@pytest.mark.slow
def test_tokens_minted_before_key_ids_keep_working_after_a_revocation(tmp_path: Path) -> None:
    """Documented choice: an old token names no key, so only a new secret cuts it off."""
    env = {"AGENTOPS_SECRET_KEY": SECRET, "AGENTOPS_KEY_CHECK_SECONDS": "0"}
    server = ServerProcess(data_dir=tmp_path / "data", extra_env=env).start()
    try:
        session_id = str(uuid.uuid4())
        create_session(server, session_id)
        old_format = TokenSigner(SECRET.encode()).issue(
            TokenClaims(server.project_id, session_id, attached=False)
        )
        assert old_format.count(".") == 2
        cli("keys", "revoke", server.api_key, *server.db_args(), env=env)
        response = post_with_token(server.url, "/v2/create_events", old_format, {"events": []})
        assert response.status_code == 200, response.text
        minted = create_session_after_revoke(server)
        assert minted.status_code == 401
    finally:
        server.stop()


def create_session_after_revoke(server: ServerProcess) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v2/create_session",
        headers={"X-Agentops-Api-Key": server.api_key},
        json={"session": {"session_id": str(uuid.uuid4())}},
        timeout=30,
    )


def test_key_status_cache_sees_a_revocation_after_its_ttl_and_stays_bounded(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    upgrade(url)
    store = open_store(url)
    try:
        project = store.create_project("P")
        ids = [store.create_api_key(project.id, f"h{i}", "p", "").id for i in range(5)]
        now = [0.0]
        cache = KeyStatusCache(store.get_api_key, 5, max_entries=3, clock=lambda: now[0])

        async def scenario() -> None:
            assert await cache.is_active(ids[0])
            store.revoke_api_key(ids[0])
            now[0] = 4.9
            assert await cache.is_active(ids[0])  # still trusted within the TTL
            now[0] = 5.0
            assert not await cache.is_active(ids[0])
            assert not await cache.is_active("no-such-key")
            together = await asyncio.gather(*(cache.is_active(k) for k in ids * 3))
            assert together == [k != ids[0] for k in ids * 3]
            assert len(cache) == 3  # the oldest answers were dropped

        asyncio.run(scenario())
    finally:
        store.close()
