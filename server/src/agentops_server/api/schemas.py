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


_UUID: dict[str, Any] = {"format": "uuid"}
_ID_TEXT: dict[str, Any] = {"type": "string", "pattern": r"\S", "maxLength": 200}
_ID: dict[str, Any] = {"anyOf": [_ID_TEXT, {"type": "integer"}]}  # trimmed, 1-200 characters
_NONE: list[dict[str, Any]] = [{"const": ""}, {"type": "null"}]  # "" and null mean unset
# The calendar's first and last day with a non-zero offset are refused (UTC may lie outside).
_EDGE_WITH_OFFSET = (
    r"^(0001-01-01|9999-12-31)[Tt ][^+-]*[+-]"
    r"([0-9][1-9]|[1-9][0-9]|00:?([0-9][1-9]|[1-9][0-9]))"
)
_TIMESTAMP: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date-time", "not": {"pattern": _EDGE_WITH_OFFSET}},
        # epoch seconds, or milliseconds when past 1e11; within years 1 to 9999
        {"type": "number", "minimum": -62135596800000, "maximum": 253402300799999},
        *_NONE,
    ],
    "description": "ISO 8601 (no offset: UTC), or epoch seconds or milliseconds",
}
_TEXT: dict[str, Any] = {"type": ["string", "number", "null"]}
_TOKENS: dict[str, Any] = {
    "anyOf": [{"type": "integer", "minimum": 0, "maximum": 10**12}, *_NONE],
}
_COST: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1_000_000},
        {"type": "string", "pattern": r"^(1000000(\.0+)?|[0-9]{1,6}(\.[0-9]+)?)$"},
        *_NONE,
    ],
    "description": "USD; when sent it wins over the computed price",
}
_END_STATE: dict[str, Any] = {
    "anyOf": [{"enum": ["Success", "Fail", "Failure", "Indeterminate"]}, *_NONE],
}
_TAGS: dict[str, Any] = {
    "anyOf": [
        {"type": "array", "items": {"type": ["string", "number"]}},
        {"type": "string", "description": "comma-separated"},
        {"type": "null"},
    ]
}


_DROPPED: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "maxProperties": 20,
            "propertyNames": {"minLength": 1, "maxLength": 64},
            "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 10**12},
        },
        {"type": "null"},
    ]
}


class SessionFields(BaseModel):
    """Any further fields are ignored."""

    init_timestamp: Any = Field(None, json_schema_extra=_TIMESTAMP)
    end_timestamp: Any = Field(None, json_schema_extra=_TIMESTAMP)
    end_state: Any = Field(None, json_schema_extra=_END_STATE)
    end_state_reason: Any = Field(None, json_schema_extra=_TEXT)
    tags: Any = Field(None, json_schema_extra=_TAGS)
    host_env: Any = Field(None, json_schema_extra={"anyOf": [{"type": "object"}, *_NONE]})
    video: Any = Field(None, json_schema_extra=_TEXT)
    is_running: Any = Field(
        None,
        description="0.3 clients: false on the final update; end fields count only then",
        json_schema_extra={"anyOf": [{"type": "boolean"}, *_NONE]},
    )
    dropped_events: Any = Field(
        None,
        description="our SDK: events it could not deliver, cumulative counts by reason "
        '(e.g. {"queue_full": 3}); the larger count per reason is kept',
        json_schema_extra=_DROPPED,
    )


class SessionSnapshot(SessionFields):
    session_id: str = Field(description="client-generated UUID", json_schema_extra=_UUID)


class SessionUpdate(SessionFields):
    session_id: Any = Field(None, description="ignored: the session token names it")


class CreateSessionBody(BaseModel):
    session: SessionSnapshot


class UpdateSessionBody(BaseModel):
    session: SessionUpdate


class Event(BaseModel):
    """Any further fields are stored with the event and returned by the export."""

    id: Any = Field(
        description="client-generated; a repeated id is stored once", json_schema_extra=_ID
    )
    event_type: str = Field(
        min_length=1, description="llms, actions, tools, errors; others stored as actions"
    )
    init_timestamp: Any = Field(None, json_schema_extra=_TIMESTAMP)
    end_timestamp: Any = Field(None, json_schema_extra=_TIMESTAMP)
    agent_id: Any = Field(
        None, json_schema_extra={"anyOf": [_ID_TEXT, {"type": "integer"}, *_NONE]}
    )
    parent_id: Any = Field(
        None,
        description="the id of the event this one ran inside; null directly under the session",
        json_schema_extra={"anyOf": [_ID_TEXT, {"type": "integer"}, *_NONE]},
    )
    params: Any = None
    returns: Any = None
    action_type: Any = Field(None, description="actions", json_schema_extra=_TEXT)
    name: Any = Field(None, description="tools (and actions)", json_schema_extra=_TEXT)
    tool_name: Any = Field(None, description="tools", json_schema_extra=_TEXT)
    logs: Any = None
    model: Any = Field(None, description="llms", json_schema_extra=_TEXT)
    provider: Any = Field(
        None, description="llms: pricing provider id, e.g. openai", json_schema_extra=_TEXT
    )
    prompt: Any = Field(None, description="llms: chat messages or text")
    completion: Any = Field(None, description="llms: a message or text")
    prompt_tokens: Any = Field(
        None, description="llms: all input tokens", json_schema_extra=_TOKENS
    )
    completion_tokens: Any = Field(
        None, description="llms: all output tokens", json_schema_extra=_TOKENS
    )
    cache_read_tokens: Any = Field(None, json_schema_extra=_TOKENS)
    cache_write_tokens: Any = Field(None, json_schema_extra=_TOKENS)
    reasoning_tokens: Any = Field(None, json_schema_extra=_TOKENS)
    cost: Any = Field(None, json_schema_extra=_COST)
    error_type: Any = Field(None, description="errors", json_schema_extra=_TEXT)
    code: Any = None
    details: Any = None
    trigger_event_id: Any = None
    trigger_event_type: Any = None


class CreateEventsBody(BaseModel):
    events: list[Event]


class CreateAgentBody(BaseModel):
    id: Any = Field(json_schema_extra=_ID)
    name: Any = Field(None, json_schema_extra=_TEXT)


class ReauthorizeBody(BaseModel):
    session_id: str = Field(json_schema_extra=_UUID)


class DeveloperErrorBody(BaseModel):
    """What an SDK reports about its own failure; logged, never validated further."""

    sdk_version: Any = None
    type: Any = None
    message: Any = None
    stack_trace: Any = None
    session_id: Any = None


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


def doc_model_body(model: type[BaseModel]) -> dict[str, Any]:
    """openapi_extra for a route that reads its JSON body into `model` itself (body.read_model)
    rather than through a FastAPI body parameter."""
    schema = model.model_json_schema(ref_template=_REF)
    assert "$defs" not in schema, "nested models would need components"
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
        for name in ("HTTPValidationError", "ValidationError"):  # our 422s are ErrorResponse
            components.pop(name, None)
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                document_errors(path, operation)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


_OTLP_STATUS = {
    "type": "object",
    "description": "google.rpc.Status {code, message}, encoded like the request",
}


def document_errors(path: str, operation: dict[str, Any]) -> None:
    """Every operation may answer a client error (4XX: 400 malformed, 401 key or token, 404
    unknown, 405 method, 413 too large, 415 encoding, 422 invalid field) and 503 (database
    down, with Retry-After), each with the error body; OTLP routes answer a google.rpc.Status."""
    if path.startswith("/v1/"):
        error: dict[str, Any] = {
            "application/json": {"schema": _OTLP_STATUS},
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        }
    else:
        error = {"application/json": {"schema": {"$ref": _REF.format(model="ErrorResponse")}}}
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's HTTPValidationError: covered by 4XX
    responses["4XX"] = {"description": "client error", "content": error}
    responses["503"] = {
        "description": "the database is unavailable: nothing was stored; retry after Retry-After",
        "content": error,
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
