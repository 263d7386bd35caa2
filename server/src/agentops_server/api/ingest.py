"""AgentOps v2 ingestion, exactly as the agentops 0.3.26 client speaks it (and our SDK).

Success is HTTP 200 with a JSON object. Identity comes from the Bearer session token (or the
API key for create_session), never from the body.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from agentops import wire
from agentops_server.api.body import read_json
from agentops_server.api.deps import (
    Services,
    check_api_key,
    require_api_key,
    require_session_token,
    services,
)
from agentops_server.api.errors import ApiError, invalid
from agentops_server.api.schemas import doc_body, doc_ok
from agentops_server.auth.tokens import TokenClaims
from agentops_server.ingest.v2 import (
    agent_fields,
    event_list,
    event_writes,
    session_body,
    session_id_of,
    session_uuid,
    session_write,
)
from agentops_server.queries import format_usd, session_url
from agentops_server.storage.records import Session, SessionWrite

logger = logging.getLogger("agentops_server.ingest")
MAX_EVENTS_PER_REQUEST = 10_000
INLINE_EVENTS = 100
"""Batches up to this size are normalized on the event loop (about 20 us per event): a hop to
a worker thread and back costs more than that under the GIL (agentops 0.3 sends 25)."""
"""Bigger batches get 413 (our SDK then splits them): bounded latency and memory per request."""
router = APIRouter(tags=["ingest (AgentOps v2)"])


@router.post(
    wire.CREATE_SESSION,
    summary="Start a session, or re-attach to an existing one (inherited sessions)",
    openapi_extra=doc_body("CreateSessionBody"),
    responses=doc_ok("CreateSessionResponse"),
)
async def create_session(request: Request) -> dict[str, Any]:
    svc = services(request)
    key = await require_api_key(request)
    parent_key = request.headers.get(wire.PARENT_KEY_HEADER)
    parent = (await check_api_key(request, parent_key)).project_id if parent_key else None
    body = await read_json(request, svc.config.max_body_bytes)
    snapshot = session_body(body)
    session_id = session_id_of(snapshot)
    write = session_write(
        snapshot,
        session_id=session_id,
        project_id=key.project_id,
        creating=True,
        parent_project_id=parent,
    )
    _, attached = await run_in_threadpool(svc.store.start_session, write)
    token = svc.signer.issue(TokenClaims(key.project_id, session_id, attached, key.id))
    return {
        "status": "success",
        "jwt": token,
        "session_url": session_url(svc.config, session_id),
        "session_id": session_id,
    }


@router.post(
    wire.UPDATE_SESSION,
    summary="Update a session (tags, end state); answers its cumulative cost",
    openapi_extra=doc_body("UpdateSessionBody"),
    responses=doc_ok("UpdateSessionResponse"),
)
async def update_session(request: Request) -> dict[str, Any]:
    svc = services(request)
    claims = await require_session_token(request)
    body = await read_json(request, svc.config.max_body_bytes)
    write = session_write(
        session_body(body),
        session_id=claims.session_id,
        project_id=claims.project_id,
        creating=False,
    )
    stored = await run_in_threadpool(_update, svc, write, claims.attached)
    stats = stored.stats
    return {
        "status": "success",
        "token_cost": format_usd(stats.cost_nanos),
        "cost_complete": stats.unknown_cost_events == 0,
        "session_url": session_url(svc.config, claims.session_id),
    }


def _update(svc: Services, write: SessionWrite, attached: bool) -> Session:
    """A process that re-attached to a session adds its tags instead of replacing the owner's
    (merged under the session's lock: processes may update it at the same time)."""
    return svc.store.write_session(replace(write, attached=attached), create=False)


@router.post(
    wire.CREATE_EVENTS,
    summary="Append a batch of events (idempotent by event id)",
    openapi_extra=doc_body("CreateEventsBody"),
    responses=doc_ok("CreateEventsResponse"),
)
async def create_events(request: Request) -> dict[str, Any]:
    svc = services(request)
    claims = await require_session_token(request)
    body = await read_json(request, svc.config.max_body_bytes)
    events = event_list(body)
    if len(events) > MAX_EVENTS_PER_REQUEST:
        raise ApiError(
            413,
            "too_many_events",
            f"{len(events)} events in one request; send at most "
            f"{MAX_EVENTS_PER_REQUEST} per request",
        )
    normalize = partial(
        event_writes,
        events,
        session_id=claims.session_id,
        project_id=claims.project_id,
        pricer=svc.pricer,
        now=datetime.now(UTC),
    )
    if len(events) <= INLINE_EVENTS and svc.pricer.needs_no_io(claims.project_id):
        writes = normalize(load_overrides=False)  # what is in memory: no store read
    else:  # in a worker thread: pricing may load the project's price overrides first
        writes = await run_in_threadpool(normalize)
    if not writes:
        return {"status": "success", "inserted": 0, "duplicates": 0}
    result = await svc.writer.append(writes)
    return {"status": "success", "inserted": result.inserted, "duplicates": result.duplicates}


@router.post(
    wire.CREATE_AGENT,
    summary="Register an agent of the session (an upsert)",
    openapi_extra=doc_body("CreateAgentBody"),
    responses=doc_ok("StatusResponse"),
)
async def create_agent(request: Request) -> dict[str, Any]:
    svc = services(request)
    claims = await require_session_token(request)
    body = await read_json(request, svc.config.max_body_bytes)
    agent_id, name = agent_fields(body)
    await run_in_threadpool(svc.store.upsert_agent, claims.session_id, agent_id, name)
    return {"status": "success"}


@router.post(
    wire.REAUTHORIZE_JWT,
    summary="Issue a new session token for a session of the key's project",
    openapi_extra=doc_body("ReauthorizeBody"),
    responses=doc_ok("ReauthorizeResponse"),
)
async def reauthorize_jwt(request: Request) -> dict[str, Any]:
    svc = services(request)
    key = await require_api_key(request)
    body = await read_json(request, svc.config.max_body_bytes)
    value = body.get("session_id") if isinstance(body, dict) else None
    if value is None or value == "":
        raise invalid("session_id is required")
    session_id = session_uuid("session_id", value)
    await run_in_threadpool(svc.store.get_session, key.project_id, session_id)
    token = svc.signer.issue(TokenClaims(key.project_id, session_id, False, key.id))
    return {"status": "success", "jwt": token}


@router.post(
    wire.DEVELOPER_ERRORS,
    summary="Receive an SDK's report of its own internal error (logged)",
    openapi_extra=doc_body("DeveloperErrorBody"),
    responses=doc_ok("StatusResponse"),
)
async def developer_errors(request: Request) -> dict[str, Any]:
    svc = services(request)
    key = await require_api_key(request)
    body = await read_json(request, svc.config.max_body_bytes)
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object (sdk_version, type, message, ...)")
    report = body
    logger.warning(
        "SDK error reported (project %s, sdk %s, session %s): %s: %.2000s",
        key.project_id,
        report.get("sdk_version"),
        report.get("session_id"),
        report.get("type"),
        report.get("message"),
    )
    return {"status": "success"}
