"""Request and response shapes, for the OpenAPI document at /docs only.

Ingestion parses bodies with stdlib json (fast, lenient where the 0.3 client is quirky), so
these models never validate a request; `install_schemas` adds them to the OpenAPI components.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

_REF = "#/components/schemas/{model}"


class SessionSnapshot(BaseModel):
    session_id: str = Field(description="client-generated id (a UUID for agentops clients)")
    init_timestamp: str | None = Field(None, description="ISO 8601; naive means UTC")
    end_timestamp: str | None = None
    end_state: str | None = Field(None, description="Success, Fail (or Failure), Indeterminate")
    end_state_reason: str | None = None
    tags: list[str] | None = None
    host_env: dict[str, Any] | None = None
    video: str | None = None
    is_running: bool | None = Field(
        None, description="0.3 clients: false on the final update; end fields count only then"
    )
    dropped_events: dict[str, int] | None = Field(
        None,
        description="our SDK: events it could not deliver, cumulative counts by reason "
        '(e.g. {"queue_full": 3}); the larger count per reason is kept',
    )


class CreateSessionBody(BaseModel):
    session: SessionSnapshot


class UpdateSessionBody(BaseModel):
    session: SessionSnapshot = Field(description="session_id is ignored: the token names it")


class Event(BaseModel):
    """Any further fields are stored with the event and returned by the export."""

    id: str = Field(description="client-generated; a repeated id is stored once")
    event_type: str = Field(description="llms, actions, tools, errors; others stored as actions")
    init_timestamp: str | None = None
    end_timestamp: str | None = None
    agent_id: str | None = None
    parent_id: str | None = Field(
        None, description="the id of the event this one ran inside; null directly under the session"
    )
    params: Any = None
    returns: Any = None
    action_type: str | None = Field(None, description="actions")
    name: str | None = Field(None, description="tools (and actions)")
    logs: Any = None
    model: str | None = Field(None, description="llms")
    provider: str | None = Field(None, description="llms: pricing provider id, e.g. openai")
    prompt: Any = Field(None, description="llms: chat messages or text")
    completion: Any = Field(None, description="llms: a message or text")
    prompt_tokens: int | None = Field(None, description="llms: all input tokens")
    completion_tokens: int | None = Field(None, description="llms: all output tokens")
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | str | None = Field(None, description="llms: USD; when sent it wins")
    error_type: str | None = Field(None, description="errors")
    code: Any = None
    details: Any = None
    trigger_event_id: str | None = None
    trigger_event_type: str | None = None


class CreateEventsBody(BaseModel):
    events: list[Event]


class CreateAgentBody(BaseModel):
    id: str
    name: str | None = None


class ReauthorizeBody(BaseModel):
    session_id: str


class DeveloperErrorBody(BaseModel):
    sdk_version: str | None = None
    type: str | None = None
    message: str | None = None
    stack_trace: str | None = None
    session_id: str | None = None


class StatusResponse(BaseModel):
    status: str = "success"


class CreateSessionResponse(StatusResponse):
    jwt: str = Field(description="opaque session token: send as Authorization: Bearer")
    session_url: str = Field(description="the session on this server's dashboard")
    session_id: str


class UpdateSessionResponse(StatusResponse):
    token_cost: str = Field(description="the session's cumulative known cost, USD decimal")
    cost_complete: bool = Field(description="false if some LLM event could not be priced")
    session_url: str


class CreateEventsResponse(StatusResponse):
    inserted: int
    duplicates: int = Field(description="events whose id was already stored (not counted)")


class ReauthorizeResponse(StatusResponse):
    jwt: str


class EventCounts(BaseModel):
    llms: int
    tools: int
    actions: int
    errors: int


class SessionStats(BaseModel):
    session_id: str
    cost: str | None = Field(description="USD decimal string; null if no LLM event was priced")
    events: int
    prompt_tokens: int
    completion_tokens: int
    errors: int
    duration: float = Field(description="seconds; for an open session, until its last event")
    init_timestamp: str
    end_timestamp: str | None
    end_state: str
    end_state_reason: str | None
    event_counts: EventCounts
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    unknown_cost_events: int
    cost_complete: bool
    first_event_at: str | None
    last_event_at: str | None
    dropped_events: dict[str, int] = Field(
        description="events the SDK reported it could not deliver, by reason ({} if none)"
    )


class SessionInfo(BaseModel):
    id: str
    project_id: str
    project_id_secondary: str | None
    init_timestamp: str
    end_timestamp: str | None
    end_state: str
    end_state_reason: str | None
    auto_ended: bool = Field(description="ended by the server after inactivity")
    tags: list[str]
    video: str | None
    name: str | None = Field(None, description="an OpenTelemetry trace's root span name")
    metadata: dict[str, Any] | None = Field(None, description="key/value metadata of the run")
    dropped_events: dict[str, int] = Field(
        default_factory=dict, description="events the SDK could not deliver, by reason"
    )
    host_env: dict[str, Any] | None = Field(None, description="export only")


class SessionListItem(SessionInfo):
    stats: SessionStats


class SessionList(BaseModel):
    data: list[SessionListItem]
    next_cursor: str | None


class Agent(BaseModel):
    id: str
    session_id: str
    name: str | None


class SessionLog(BaseModel):
    received_at: str
    body: str = Field(description="text the client uploaded (agentops 0.4: its print() output)")


class SessionExport(BaseModel):
    session: SessionInfo
    stats: SessionStats
    agents: list[Agent]
    logs: list[SessionLog]
    actions: list[dict[str, Any]]
    llms: list[dict[str, Any]] = Field(
        description='prompt/completion as {"type":"chatml","messages"} or {"type":"string"}'
    )
    tools: list[dict[str, Any]]
    errors: list[dict[str, Any]]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
    message: str = Field(description="same text, for the agentops 0.3 client")


_MODELS: list[type[BaseModel]] = [
    CreateSessionBody, UpdateSessionBody, CreateEventsBody, CreateAgentBody, ReauthorizeBody,
    DeveloperErrorBody, StatusResponse, CreateSessionResponse, UpdateSessionResponse,
    CreateEventsResponse, ReauthorizeResponse, SessionStats, SessionList, SessionExport,
    ErrorResponse,
]  # fmt: skip


def doc_body(model: str) -> dict[str, Any]:
    """openapi_extra for a route whose JSON body is documented by `model`."""
    schema = {"$ref": _REF.format(model=model)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def doc_ok(model: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: its 200 body and the error body."""
    error = {"application/json": {"schema": {"$ref": _REF.format(model="ErrorResponse")}}}
    return {
        200: {"content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}}},
        "4XX": {"description": "error", "content": error},
    }


def install_schemas(app: FastAPI) -> None:
    """Add the models above to the app's OpenAPI components."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = original()
        _, defs = models_json_schema([(m, "validation") for m in _MODELS], ref_template=_REF)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in defs.get("$defs", {}).items():
            components.setdefault(name, schema)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
