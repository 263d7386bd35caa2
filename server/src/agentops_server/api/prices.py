"""Per-project price overrides: GET/PUT/DELETE /v2/prices[/{model}].

Authenticated with the project's API key (X-Agentops-Api-Key). An override is the project's
price for a model name in USD per million tokens; it wins over the genai-prices table for new
events at once (`agentops reprice` re-prices stored ones). Model names may contain "/".
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool

from agentops_server.api.body import read_model
from agentops_server.api.deps import ProjectKey, services
from agentops_server.api.errors import invalid, not_found
from agentops_server.api.schemas import doc_model_body
from agentops_server.pricing import ModelPrices
from agentops_server.storage.records import PriceOverride
from agentops_server.storage.store import NotFound

router = APIRouter(prefix="/v2/prices", tags=["prices"])
MAX_BODY_BYTES = 64 * 1024

_PRICE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1_000_000},
        {"type": "string", "pattern": r"^(1000000(\.0+)?|[0-9]{1,6}(\.[0-9]+)?)$"},
    ],
    "description": "USD per million tokens, 0 to 1,000,000 (a number or a decimal string)",
}
_PRICE_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")


def _plain_decimal(value: object) -> object:
    """A price given as a string is plain ASCII decimal digits, as the schema says: Decimal()
    alone would also take "1E2", "1_000", "+5", " 5" and other scripts' digits."""
    if isinstance(value, str) and not _PRICE_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "bad_price", 'a price string is a plain decimal number of USD, like "0.15"'
        )
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(_plain_decimal),
    Field(ge=0, le=1_000_000, allow_inf_nan=False),
    WithJsonSchema(_PRICE_SCHEMA),
]
MAX_MODEL_LENGTH = 200


class PriceIn(BaseModel):
    """USD per million tokens. Unset cache prices bill cache tokens at the input price."""

    input_per_mtok: Price
    output_per_mtok: Price
    cache_read_per_mtok: Price | None = None
    cache_write_per_mtok: Price | None = None


class PriceOut(BaseModel):
    model: str
    source: str = Field(description="override, computed (genai-prices) or unknown_model")
    provider: str | None = None
    matched_model: str | None = None
    input_per_mtok: str | None = None
    output_per_mtok: str | None = None
    cache_read_per_mtok: str | None = None
    cache_write_per_mtok: str | None = None


class PriceOutOne(BaseModel):
    data: PriceOut


class PriceOutList(BaseModel):
    data: list[PriceOut]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def override_json(override: PriceOverride) -> dict[str, Any]:
    return {
        "model": override.model,
        "source": "override",
        "provider": None,
        "matched_model": override.model,
        "input_per_mtok": _money(override.input_per_mtok),
        "output_per_mtok": _money(override.output_per_mtok),
        "cache_read_per_mtok": _money(override.cache_read_per_mtok),
        "cache_write_per_mtok": _money(override.cache_write_per_mtok),
    }


def prices_json(prices: ModelPrices) -> dict[str, Any]:
    return {
        "model": prices.model,
        "source": prices.source.value,
        "provider": prices.provider,
        "matched_model": prices.matched_model,
        "input_per_mtok": _money(prices.input_per_mtok),
        "output_per_mtok": _money(prices.output_per_mtok),
        "cache_read_per_mtok": _money(prices.cache_read_per_mtok),
        "cache_write_per_mtok": _money(prices.cache_write_per_mtok),
    }


def _check_model(model: str) -> str:
    cleaned = model.strip()
    if not cleaned or len(cleaned) > MAX_MODEL_LENGTH:
        raise invalid(f"model must be 1 to {MAX_MODEL_LENGTH} characters")
    return cleaned


@router.get("", summary="The project's price overrides", response_model=PriceOutList)
async def list_prices(request: Request, key: ProjectKey) -> dict[str, Any]:
    pricer = services(request).pricer
    overrides = await run_in_threadpool(pricer.list_overrides, key.project_id)
    return {"data": [override_json(o) for o in overrides]}


@router.get(
    "/{model:path}",
    summary="The prices used for a model: the project's override, else genai-prices",
    response_model=PriceOutOne,
)
async def get_price(
    request: Request, key: ProjectKey, model: str, provider: str | None = None
) -> dict[str, Any]:
    pricer = services(request).pricer
    found = await run_in_threadpool(pricer.describe, key.project_id, _check_model(model), provider)
    return {"data": prices_json(found)}


@router.put(
    "/{model:path}",
    summary="Set the project's price for a model (insert or replace)",
    response_model=PriceOutOne,
    openapi_extra=doc_model_body(PriceIn),
)
async def put_price(request: Request, model: str, key: ProjectKey) -> dict[str, Any]:
    body = await read_model(request, PriceIn, MAX_BODY_BYTES)
    override = PriceOverride(
        project_id=key.project_id,
        model=_check_model(model),
        input_per_mtok=body.input_per_mtok,
        output_per_mtok=body.output_per_mtok,
        cache_read_per_mtok=body.cache_read_per_mtok,
        cache_write_per_mtok=body.cache_write_per_mtok,
    )
    stored = await run_in_threadpool(services(request).pricer.set_override, override)
    return {"data": override_json(stored)}


@router.delete(
    "/{model:path}",
    summary="Remove the project's price for a model",
    response_model=PriceOutOne,
)
async def delete_price(request: Request, model: str, key: ProjectKey) -> dict[str, Any]:
    pricer = services(request).pricer
    name = _check_model(model)
    try:
        await run_in_threadpool(pricer.delete_override, key.project_id, name)
    except NotFound:
        raise not_found(f"no price override for model {name!r}") from None
    found = await run_in_threadpool(pricer.describe, key.project_id, name)
    return {"data": prices_json(found)}
