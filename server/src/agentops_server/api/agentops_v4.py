"""What the agentops 0.4 client calls besides OTLP: its token exchange and its two uploads.

- POST /v3/auth/token {"api_key"} -> {"token", "project_id", "project_prem_status"}: the token
  it then sends as `Authorization: Bearer` on /v1/traces and the uploads.
- POST /v4/logs/upload/ {"body"} with a decimal `Trace-Id` header: the print() output it
  captured, kept with that trace's session and shown on its page.
- POST /v4/objects/upload/ {"body"} -> {"url", "size"}; GET /v4/objects/{id} serves it back to
  the same project only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from agentops_server.api.body import read_json
from agentops_server.api.deps import (
    OptionalProjectId,
    ProjectId,
    check_api_key,
    services,
)
from agentops_server.api.errors import bad_request, invalid, not_found, unauthorized
from agentops_server.auth.project_tokens import ProjectClaims
from agentops_server.ingest.otlp.assemble import session_id_of
from agentops_server.storage.store import Conflict

router = APIRouter(tags=["agentops 0.4 (token, uploads)"])
PREM_STATUS = "pro"
"""Any other value makes agentops 0.4 print "You're on the agentops free plan": a self-hosted
server has no plans."""
MAX_TRACE_ID = 2**128 - 1


def _json_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_TEXT_BODY = _json_body({"body": {"type": "string"}}, ["body"])
_TRACE_ID_HEADER = {
    "name": "Trace-Id",
    "in": "header",
    "required": True,
    "description": "the trace id as a decimal integer (agentops 0.4), or 32 hex digits",
    "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,37}$"},
}


@router.post(
    "/v3/auth/token",
    summary="Exchange an API key for the token agentops 0.4 exports with",
    openapi_extra=_json_body({"api_key": {"type": "string", "minLength": 1}}, ["api_key"]),
)
async def auth_token(request: Request) -> dict[str, Any]:
    svc = services(request)
    body = await read_json(request, svc.config.max_body_bytes)
    api_key = body.get("api_key") if isinstance(body, dict) else None
    if not isinstance(api_key, str) or not api_key:
        raise invalid('api_key is required: send {"api_key": "<your API key>"}')
    key = await check_api_key(request, api_key)
    token = svc.project_tokens.issue(ProjectClaims(key.project_id, key.id))
    return {"token": token, "project_id": key.project_id, "project_prem_status": PREM_STATUS}


def _upload_body(body: Any) -> str:
    text = body.get("body") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise invalid('body must be a JSON object {"body": "<text>"}')
    return text


def trace_id_from_header(value: str | None) -> str:
    """agentops 0.4 sends the trace id as a decimal integer; we speak 32 hex digits."""
    if value is None or not value.strip():
        raise bad_request("missing Trace-Id header (the trace id as a decimal integer)")
    raw = value.strip()
    try:
        number = int(raw, 16) if len(raw) == 32 and not raw.isdigit() else int(raw)
    except ValueError:
        raise bad_request(f"Trace-Id must be a decimal integer, got {raw[:40]!r}") from None
    if not 0 < number <= MAX_TRACE_ID:
        raise bad_request("Trace-Id is not a 128-bit trace id")
    return f"{number:032x}"


@router.post(
    "/v4/logs/upload/",
    summary="Keep the log text agentops 0.4 uploads with its session",
    openapi_extra={**_TEXT_BODY, "parameters": [_TRACE_ID_HEADER]},
)
async def upload_logs(request: Request, project: OptionalProjectId) -> dict[str, Any]:
    """agentops 0.4.21 uploads its logfile when a trace ends, with no Authorization header
    if that is before its token arrives: held then like its token-less spans (docs/otel.md)."""
    svc = services(request)
    trace_id = trace_id_from_header(request.headers.get("trace-id"))
    text = _upload_body(await read_json(request, svc.config.max_body_bytes))
    if project is None:
        if not await svc.otlp.hold_upload(trace_id, text):
            raise unauthorized(
                "missing API key: this trace's session exists, and only a request with its "
                "project's key adds to it",
                "missing_api_key",
            )
        return {"status": "held", "session_id": session_id_of(trace_id)}

    def store() -> str:
        session_id = svc.otlp.session_for_upload(trace_id, project)
        svc.store.add_session_log(session_id, text)
        return session_id

    try:
        session_id = await run_in_threadpool(store)
    except Conflict:
        raise not_found(f"trace {trace_id} not found") from None
    await svc.otlp.store_held(trace_id, project)  # token-less spans held for the trace
    return {"status": "success", "session_id": session_id}


@router.post(
    "/v4/objects/upload/",
    summary="Store an object agentops 0.4 uploads; answers its URL",
    openapi_extra=_TEXT_BODY,
)
async def upload_object(request: Request, project: ProjectId) -> dict[str, Any]:
    svc = services(request)
    text = _upload_body(await read_json(request, svc.config.max_body_bytes))
    stored = await run_in_threadpool(svc.store.put_object, project, text)
    url = f"{svc.config.base_url.rstrip('/')}/v4/objects/{stored.id}"
    return {"url": url, "size": stored.size}


@router.get("/v4/objects/{object_id}", summary="An uploaded object, to its own project only")
async def get_object(request: Request, object_id: str, project: ProjectId) -> Response:
    svc = services(request)
    stored = await run_in_threadpool(svc.store.get_object, project, object_id)
    return Response(stored.body, media_type="text/plain; charset=utf-8")
