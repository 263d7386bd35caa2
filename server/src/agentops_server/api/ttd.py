"""Time-travel debugging for the agentops 0.3 client: mint an id for a session, fetch its calls.

`POST /v2/sessions/{session_id}/ttd` (API key) answers a time-travel id; the unmodified client
fetches `GET /v2/ttd/{ttd_id}` (no credential: the signed id is one) and replays the session's
recorded completions (see api/ttd_replay.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from agentops_server.api.deps import ProjectKey, Services, services
from agentops_server.api.errors import ApiError, not_found, unauthorized
from agentops_server.api.ttd_replay import replay_items
from agentops_server.auth.ttd_ids import LIFETIME_SECONDS, InvalidTtdId, TtdClaims, TtdIds
from agentops_server.ingest.v2 import canonical_session_id
from agentops_server.storage.store import NotFound

router = APIRouter(tags=["time travel (AgentOps v2)"])

_ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"description": "error", "content": {"application/json": {"schema": _ERROR}}}
}
_OVERRIDE = {
    "type": "object",
    "properties": {
        "prompt": {"type": "object", "description": '{"type": "chatml", "messages": [...]}'},
        "returns": {"type": "string", "description": "the provider response, as JSON text"},
        "completion": {"type": "object"},
        "model": {"type": ["string", "null"]},
        "llm_id": {"type": "string"},
        "session_id": {"type": "string"},
        "init_timestamp": {"type": "string"},
    },
    "required": ["prompt", "returns"],
}
_MINTED = {
    "type": "object",
    "properties": {
        "data": {
            "type": "object",
            "properties": {
                "ttd_id": {"type": "string"},
                "session_id": {"type": "string"},
                "expires_at": {"type": "string"},
                "url": {"type": "string"},
                "fetch_command": {"type": "string"},
            },
        }
    },
}


def _ids(svc: Services) -> TtdIds:
    return TtdIds(svc.signer.derived_key("ttd"))


@router.post(
    "/v2/sessions/{session_id}/ttd",
    summary="Mint a time-travel id for a session (for agentops 0.3's fetch_time_travel_id)",
    responses={200: {"content": {"application/json": {"schema": _MINTED}}}, **_ERRORS},
)
async def mint_ttd_id(request: Request, session_id: str, key: ProjectKey) -> dict[str, Any]:
    svc = services(request)
    canonical = canonical_session_id(session_id)
    try:
        await run_in_threadpool(svc.store.get_session, key.project_id, canonical)
    except NotFound:
        raise not_found(f"session {session_id} not found in this project") from None
    expires_at = int(time.time()) + LIFETIME_SECONDS
    ttd_id = _ids(svc).issue(TtdClaims(key.id, canonical, expires_at))
    base = svc.config.base_url.rstrip("/")
    return {
        "data": {
            "ttd_id": ttd_id,
            "session_id": canonical,
            "expires_at": datetime.fromtimestamp(expires_at, UTC).isoformat(),
            "url": f"{base}/v2/ttd/{ttd_id}",
            "fetch_command": (
                f"AGENTOPS_API_ENDPOINT={base} python -c 'from agentops.time_travel import "
                f'fetch_time_travel_id; fetch_time_travel_id("{ttd_id}")\''
            ),
        }
    }


@router.get(
    "/v2/ttd/{ttd_id}",
    summary="A session's recorded LLM calls as agentops 0.3 time-travel completion overrides",
    responses={
        200: {"content": {"application/json": {"schema": {"type": "array", "items": _OVERRIDE}}}},
        **_ERRORS,
    },
)
async def get_ttd(request: Request, ttd_id: str) -> StreamingResponse:
    svc = services(request)
    try:
        claims = _ids(svc).verify(ttd_id)
    except InvalidTtdId as exc:
        raise ApiError(
            404,
            "ttd_not_found",
            f"unknown time-travel id ({exc}): mint one with POST /v2/sessions/<session id>/ttd "
            "and the project's API key",
        ) from None
    if claims.expires_at < time.time():
        raise ApiError(410, "ttd_expired", "this time-travel id has expired: mint a new one")
    key = await run_in_threadpool(svc.store.get_api_key, claims.key_id)
    if key is None or key.revoked_at is not None:
        raise unauthorized(
            "the API key this time-travel id was minted with has been revoked", "revoked_api_key"
        )
    try:
        await run_in_threadpool(svc.store.get_session, key.project_id, claims.session_id)
    except NotFound:
        raise not_found(f"session {claims.session_id} no longer exists") from None
    return StreamingResponse(_chunks(svc, claims.session_id), media_type="application/json")


def _chunks(svc: Services, session_id: str) -> Iterator[bytes]:
    """A JSON list, written as the events are read (a sync iterator: run in a worker thread)."""
    yield b"["
    first = True
    for item in replay_items(svc.store.iter_events(session_id, "llms")):
        text = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        yield (text if first else "," + text).encode()
        first = False
    yield b"]"
