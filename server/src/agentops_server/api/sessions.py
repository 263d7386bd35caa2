"""The export API: a project's sessions, one session's stats, and its full export.

Authenticated with the project's API key in X-Agentops-Api-Key, as AgentOps' v2 export is.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from agentops.wire import EndState
from agentops_server import queries
from agentops_server.api.deps import ProjectKey, services
from agentops_server.api.errors import invalid, not_found
from agentops_server.api.schemas import doc_ok
from agentops_server.ingest.v2 import canonical_session_id
from agentops_server.storage.records import SessionFilter
from agentops_server.storage.store import NotFound

MAX_TAGS = 10  # tags one listing may require

router = APIRouter(prefix="/v2/sessions", tags=["export"])
EXAMPLE = "2026-11-21T12:00:00Z"
# The bounds are RFC 3339 date-times; one without offset is read as UTC. A number or a date
# alone is refused (a 422), never read as a time.
DAY_AND_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
MOMENT: dict[str, Any] = {"json_schema_extra": {"format": "date-time"}}
MOMENT_DOC = "sessions started {} this moment: ISO 8601 like " + EXAMPLE + " (no offset: UTC)"


@router.get(
    "",
    summary="List the project's sessions, newest first (keyset-paginated)",
    responses=doc_ok("SessionList"),
)
async def list_sessions(
    request: Request,
    key: ProjectKey,
    tag: Annotated[
        list[str] | None, Query(description="only sessions with this tag (repeat: all of them)")
    ] = None,
    end_state: Annotated[
        str | None,
        Query(
            description="Success, Fail (or Failure) or Indeterminate",
            json_schema_extra={"enum": ["Success", "Fail", "Failure", "Indeterminate", ""]},
        ),
    ] = None,
    started_after: Annotated[
        str | None, Query(description=MOMENT_DOC.format("at or after"), **MOMENT)
    ] = None,
    started_before: Annotated[
        str | None, Query(description=MOMENT_DOC.format("before"), **MOMENT)
    ] = None,
    text: Annotated[
        str | None,
        Query(
            description="words of its prompts, completions, tool params and returns, errors, "
            "agent names, name or end reason (all must match); or a tag, or the start of its id"
        ),
    ] = None,
    model: Annotated[str | None, Query(description="an LLM call used this model")] = None,
    agent: Annotated[str | None, Query(description="an agent of the session has this name")] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    svc = services(request)
    state = None
    if end_state:
        try:
            state = EndState(end_state).value
        except ValueError:
            raise invalid(
                f"end_state must be Success, Fail or Indeterminate, got {end_state!r}"
            ) from None
    tags = tuple(dict.fromkeys(t for t in tag or [] if t))
    if len(tags) > MAX_TAGS:
        raise invalid(f"at most {MAX_TAGS} tags, got {len(tags)}")
    filters = SessionFilter(
        tags=tags,
        end_state=state,
        started_after=_aware("started_after", started_after),
        started_before=_aware("started_before", started_before),
        text=text or None,
        model=model or None,
        agent=agent or None,
    )
    return await run_in_threadpool(
        queries.list_sessions, svc.store, key.project_id, filters, cursor, limit
    )


@router.get(
    "/{session_id}/stats",
    summary="A session's statistics: cost, tokens, counts per type, duration, end state",
    responses=doc_ok("SessionStats"),
)
async def session_stats(request: Request, session_id: str, key: ProjectKey) -> dict[str, Any]:
    svc = services(request)
    try:
        return await run_in_threadpool(
            queries.get_stats, svc.store, key.project_id, canonical_session_id(session_id)
        )
    except NotFound:
        raise not_found(f"session {session_id} not found in this project") from None


@router.get(
    "/{session_id}/export",
    summary="Everything about a session: itself, stats, agents and every event (streamed)",
    responses=doc_ok("SessionExport"),
)
async def session_export(request: Request, session_id: str, key: ProjectKey) -> StreamingResponse:
    svc = services(request)
    try:
        chunks = await run_in_threadpool(
            queries.export_session, svc.store, key.project_id, canonical_session_id(session_id)
        )
    except NotFound:
        raise not_found(f"session {session_id} not found in this project") from None
    return StreamingResponse(chunks, media_type="application/json")


def _aware(field: str, raw: str | None) -> datetime | None:
    """The bound in UTC (naive means UTC); one that UTC cannot represent is a 422."""
    if raw is None:
        return None
    try:
        if not DAY_AND_TIME.match(raw):
            raise ValueError(raw)
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(f"{field} must be a date and time like {EXAMPLE}, got {raw[:40]!r}") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise invalid(
            f"{field} is out of range once converted to UTC: {value.isoformat()}"
        ) from None
