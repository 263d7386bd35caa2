"""A project's alert rules and their firing history: /v2/alerts/rules[/{id}], /v2/alerts/history.

Authenticated with the project's API key (X-Agentops-Api-Key), like the export API; a key sees
and changes its own project's rules only (another project's rule is a 404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from agentops_server.alerts.rule_body import RULE_BODY_SCHEMA, rule_from_json
from agentops_server.alerts.views import firing_json, rule_json
from agentops_server.api.body import read_json
from agentops_server.api.deps import ProjectKey, services
from agentops_server.api.errors import not_found
from agentops_server.storage.store import NotFound

router = APIRouter(prefix="/v2/alerts", tags=["alerts"])
MAX_HISTORY = 500
MAX_BODY_BYTES = 64 * 1024


class RuleOut(BaseModel):
    id: str
    project_id: str
    kind: str
    description: str
    threshold: str | None
    window_minutes: int | None
    min_sessions: int | None
    webhook_url: str
    created_at: str


class AttemptOut(BaseModel):
    attempt: int
    at: str
    ok: bool
    status_code: int | None
    error: str | None


class FiringOut(BaseModel):
    id: str
    rule_id: str
    occurrence: str = Field(description="session id, day:YYYY-MM-DD or episode:N")
    session_id: str | None
    session_url: str | None
    fired_at: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: str | None
    delivered_at: str | None
    values: dict[str, Any]
    history: list[AttemptOut]


class RuleOutOne(BaseModel):
    data: RuleOut


class RuleOutList(BaseModel):
    data: list[RuleOut]


class FiringOutList(BaseModel):
    data: list[FiringOut]


@router.get("/rules", summary="The project's alert rules", response_model=RuleOutList)
async def list_rules(request: Request, key: ProjectKey) -> dict[str, Any]:
    found = await run_in_threadpool(services(request).store.list_alert_rules, key.project_id)
    return {"data": [rule_json(r) for r in found]}


@router.post(
    "/rules",
    summary="Add an alert rule",
    response_model=RuleOutOne,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RULE_BODY_SCHEMA}},
        }
    },
)
async def add_rule(request: Request, key: ProjectKey) -> dict[str, Any]:
    body = await read_json(request, MAX_BODY_BYTES, strict=True)
    write = rule_from_json(key.project_id, body)
    rule = await run_in_threadpool(services(request).store.create_alert_rule, write)
    return {"data": rule_json(rule)}


@router.delete(
    "/rules/{rule_id}",
    summary="Remove an alert rule and its history",
    response_model=RuleOutOne,
)
async def remove_rule(request: Request, rule_id: str, key: ProjectKey) -> dict[str, Any]:
    try:
        rule = await run_in_threadpool(
            services(request).store.delete_alert_rule, key.project_id, rule_id
        )
    except NotFound:
        raise not_found(f"no alert rule {rule_id!r} in this project") from None
    return {"data": rule_json(rule)}


@router.get(
    "/history",
    summary="The project's fired alerts, newest first, each with its delivery attempts",
    response_model=FiringOutList,
)
async def history(
    request: Request,
    key: ProjectKey,
    rule_id: Annotated[str | None, Query(description="only this rule's firings")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY)] = 100,
) -> dict[str, Any]:
    svc = services(request)
    found = await run_in_threadpool(svc.store.list_alert_firings, key.project_id, rule_id, limit)
    return {"data": [firing_json(f, svc.config.base_url) for f in found]}
