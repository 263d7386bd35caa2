"""What routes share: the services hung on app.state, and authentication of requests.

Routes sign in through the dependencies at the end (`key: ProjectKey`). The fast ingest routes
(api/fast_routes.py) take no dependencies and call require_api_key and the others themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from agentops import wire
from agentops_server.api.budget_headers import PROJECT_STATE
from agentops_server.api.errors import ApiError, unauthorized
from agentops_server.auth.keys import hash_key, is_key_format, lookup_key
from agentops_server.auth.revocation import KeyStatusCache
from agentops_server.auth.tokens import InvalidToken, TokenClaims, TokenSigner
from agentops_server.budgets import BudgetWatch
from agentops_server.config import ServerConfig
from agentops_server.pricing import Pricer
from agentops_server.storage.records import ApiKey
from agentops_server.storage.store import Store

if TYPE_CHECKING:
    from agentops_server.auth.project_tokens import ProjectTokenSigner
    from agentops_server.ingest.otlp.pipeline import OtlpIngest
    from agentops_server.ingest.writer import IngestWriter


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request handler needs, built once by create_app."""

    config: ServerConfig
    store: Store
    signer: TokenSigner
    pricer: Pricer
    writer: IngestWriter
    key_status: KeyStatusCache  # by key id (session tokens)
    key_hashes: KeyStatusCache  # by key hash (the X-Agentops-Api-Key header)
    project_tokens: ProjectTokenSigner  # agentops 0.4's tokens (POST /v3/auth/token)
    otlp: OtlpIngest
    budgets: BudgetWatch  # the project-budget signal of ingest answers


def note_project(request: Request, project_id: str) -> None:
    """The request is authenticated for this project: its answer carries the project's budget
    signal (api/budget_headers.py)."""
    setattr(request.state, PROJECT_STATE, project_id)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def require_api_key(request: Request) -> ApiKey:
    """The valid, unrevoked key in the X-Agentops-Api-Key header, else 401."""
    header = wire.API_KEY_HEADER
    key = request.headers.get(header)
    if not key:
        raise unauthorized(f"missing API key: send it in the {header} header", "missing_api_key")
    found = await check_api_key(request, key)
    note_project(request, found.project_id)
    return found


async def check_api_key(request: Request, key: str, *, cached: bool = False) -> ApiKey:
    """The active key `key`. cached=True (requests that carry a session token too) may trust an
    answer up to AGENTOPS_KEY_CHECK_SECONDS old, like the session token's own key check."""
    if not is_key_format(key):
        raise unauthorized("invalid API key format: API keys are UUIDs", "invalid_api_key")
    svc = services(request)
    if cached:
        found = await svc.key_hashes.active_key(hash_key(key))
    else:
        found = await run_in_threadpool(lookup_key, svc.store, key)
    if found is None:
        raise unauthorized("invalid API key: unknown or revoked", "invalid_api_key")
    return found


async def require_session_token(request: Request) -> TokenClaims:
    """Claims of the Bearer session token; an API key sent alongside must be valid too, and
    the key that minted the token must not be revoked (checked through a short-lived cache)."""
    header = request.headers.get(wire.AUTHORIZATION_HEADER, "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(
            "missing session token: send Authorization: Bearer <jwt from create_session>",
            "missing_token",
        )
    try:
        claims = services(request).signer.verify(token)
    except InvalidToken as exc:
        raise unauthorized(f"invalid session token: {exc}", "invalid_token") from None
    key = request.headers.get(wire.API_KEY_HEADER)
    if key:
        found = await check_api_key(request, key, cached=True)
        if found.project_id != claims.project_id:
            raise ApiError(401, "invalid_api_key", "the API key belongs to another project")
    if claims.key_id is not None and not await services(request).key_status.is_active(
        claims.key_id
    ):
        raise unauthorized(
            "the API key this session token was issued for has been revoked: nothing was "
            "stored; start a new session with an active API key",
            "revoked_api_key",
        )
    note_project(request, claims.project_id)
    return claims


async def optional_project(request: Request) -> str | None:
    """The project of an OTLP-style request: `Authorization: Bearer` with a token from
    /v3/auth/token, an API key or a session token, or `X-Agentops-Api-Key`. None when the
    request carries no credential at all; a credential that is not valid is a 401."""
    project = await _optional_project(request)
    if project is not None:
        note_project(request, project)
    return project


async def _optional_project(request: Request) -> str | None:
    from agentops_server.auth.project_tokens import InvalidProjectToken, is_project_token

    header = request.headers.get(wire.AUTHORIZATION_HEADER, "")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        if is_key_format(value):
            return (await check_api_key(request, value, cached=True)).project_id
        svc = services(request)
        if is_project_token(value):
            try:
                claims = svc.project_tokens.verify(value)
            except InvalidProjectToken as exc:
                raise unauthorized(f"invalid token: {exc}", "invalid_token") from None
            if not await svc.key_status.is_active(claims.key_id):
                raise unauthorized(
                    "the API key this token was issued for has been revoked; nothing was stored",
                    "revoked_api_key",
                )
            return claims.project_id
        return (await require_session_token(request)).project_id
    key = request.headers.get(wire.API_KEY_HEADER)
    if key:
        return (await check_api_key(request, key, cached=True)).project_id
    if header.strip():
        raise unauthorized(
            "unsupported Authorization header: send Bearer <API key or token>", "invalid_token"
        )
    return None


async def require_project(request: Request) -> str:
    project = await optional_project(request)
    if project is None:
        raise unauthorized(
            f"missing API key: send Authorization: Bearer <API key> or {wire.API_KEY_HEADER}",
            "missing_api_key",
        )
    return project


ProjectKey = Annotated[ApiKey, Depends(require_api_key)]
"""The request's API key (X-Agentops-Api-Key), else 401: the export and settings routes."""
ProjectId = Annotated[str, Depends(require_project)]
"""The project of an OTLP-style credential (see optional_project), else 401."""
OptionalProjectId = Annotated[str | None, Depends(optional_project)]
"""The project of an OTLP-style credential, None without one; a bad one is a 401."""
