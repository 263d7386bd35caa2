"""The project's budget: GET/PUT/DELETE /v2/budget.

Authenticated with the project's API key (X-Agentops-Api-Key), like the export API: a key
reads and changes its own project's budget only. A daily and a monthly cost limit in USD
(UTC day and month); while the project's spend reaches one, ingest answers carry the
X-AgentOps-Budget-Exceeded and X-AgentOps-Budget-Message headers (budgets.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool

from agentops_server.api.body import read_model
from agentops_server.api.deps import ProjectKey, services
from agentops_server.api.schemas import doc_model_body
from agentops_server.budgets import (
    LIMIT_TEXT,
    MAX_LIMIT_USD,
    BadLimit,
    limit_nanos,
    read_status,
    status_json,
)

router = APIRouter(prefix="/v2/budget", tags=["budget"])
MAX_BODY_BYTES = 64 * 1024

_LIMIT_SCHEMA = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_LIMIT_USD)},
        {"type": "string", "pattern": f"^({LIMIT_TEXT.pattern})$"},
        {"type": "null"},
    ],
    "description": "USD per UTC day or month, more than 0 and at most 1,000,000,000 (a number "
    'or a decimal string like "12.50"; rounded up to the nano-dollar); null or absent: '
    "no limit",
}


def _nanos(value: object) -> int | None:
    try:
        return limit_nanos(value)
    except BadLimit as exc:
        raise PydanticCustomError("bad_limit", str(exc)) from None


Limit = Annotated[int | None, BeforeValidator(_nanos), WithJsonSchema(_LIMIT_SCHEMA)]
"""A limit in USD on the wire, in nano-USD once validated."""


class BudgetIn(BaseModel):
    """Both limits, replacing the stored ones: a limit left out or null is cleared."""

    model_config = ConfigDict(extra="forbid")
    daily_limit_usd: Limit = None
    monthly_limit_usd: Limit = None


class DaySpend(BaseModel):
    date: str = Field(description="today, UTC (YYYY-MM-DD)")
    spent_usd: str


class MonthSpend(BaseModel):
    month: str = Field(description="this month, UTC (YYYY-MM)")
    spent_usd: str


class BudgetOut(BaseModel):
    daily_limit_usd: str | None
    monthly_limit_usd: str | None
    updated_at: str | None
    today: DaySpend
    this_month: MonthSpend
    exceeded: list[str] = Field(description='the limits reached: "daily", "monthly"')
    message: str | None = Field(description="what X-AgentOps-Budget-Message says, if any")


class BudgetOutOne(BaseModel):
    data: BudgetOut


async def _answer(request: Request, project_id: str) -> dict[str, Any]:
    status = await run_in_threadpool(read_status, services(request).store, project_id)
    return {"data": status_json(status)}


@router.get(
    "",
    summary="The project's daily and monthly cost limits and its spend against them",
    response_model=BudgetOutOne,
)
async def get_budget(request: Request, key: ProjectKey) -> dict[str, Any]:
    return await _answer(request, key.project_id)


@router.put(
    "",
    summary="Set the project's cost limits (both)",
    response_model=BudgetOutOne,
    openapi_extra=doc_model_body(BudgetIn),
)
async def put_budget(request: Request, key: ProjectKey) -> dict[str, Any]:
    body = await read_model(request, BudgetIn, MAX_BODY_BYTES)
    svc = services(request)
    limits = (body.daily_limit_usd, body.monthly_limit_usd)  # nano-USD
    await run_in_threadpool(svc.store.set_budget, key.project_id, *limits)
    svc.budgets.forget(key.project_id)
    return await _answer(request, key.project_id)


@router.delete("", summary="Clear the project's cost limits", response_model=BudgetOutOne)
async def delete_budget(request: Request, key: ProjectKey) -> dict[str, Any]:
    svc = services(request)
    await run_in_threadpool(svc.store.set_budget, key.project_id, None, None)
    svc.budgets.forget(key.project_id)
    return await _answer(request, key.project_id)
