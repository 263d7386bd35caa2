"""OTLP/HTTP receiver: POST /v1/traces, /v1/logs and /v1/metrics, protobuf or JSON.

What the OTLP specification asks of a server: gzip and deflate bodies, a size cap after
decompression (413), 400 for what cannot be decoded, every answer in the request's content
type (a google.rpc.Status on failure), 503 with Retry-After when the database is down (the
Python exporter drops a batch on 429, retries 5xx), partial success for spans of a trace that
belongs to another project. The agentops 0.4 client may export before its token arrives:
those spans are held (ingest/otlp/tokenless.py) rather than refused and lost.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.concurrency import run_in_threadpool

from agentops_server.api.body import read_body
from agentops_server.api.deps import optional_project, require_project, services
from agentops_server.api.errors import RETRY_AFTER_SECONDS, ApiError
from agentops_server.ingest.otlp.decode import (
    Undecodable,
    UnsupportedMediaType,
    decode_logs,
)
from agentops_server.ingest.otlp.pending_budget import PendingFull
from agentops_server.ingest.otlp.prepare import Outcome
from agentops_server.ingest.otlp.tokenless import is_agentops_client
from agentops_server.ingest.writer import WriterUnavailable
from agentops_server.storage.outage import DATABASE_ERRORS, is_outage
from agentops_server.storage.store import LimitExceeded

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
router = APIRouter(tags=["OpenTelemetry (OTLP/HTTP)"])
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 503: 14}
"""google.rpc.Code of each HTTP status we answer (INVALID_ARGUMENT, UNAUTHENTICATED, ...)."""


def _media_type(request: Request) -> str:
    raw = request.headers.get("content-type", "")
    return raw.split(";", 1)[0].strip().lower()


def _answer_type(media: str) -> str:
    return PROTOBUF if media == PROTOBUF else JSON


def status_response(media: str, status: int, message: str) -> Response:
    """A failure as google.rpc.Status {code, message}, encoded like the request."""
    code = _GRPC_CODES.get(status, 2)
    if _answer_type(media) == PROTOBUF:
        body = _status_protobuf(code, message)
    else:
        body = orjson.dumps({"code": code, "message": message})
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return Response(body, status_code=status, media_type=_answer_type(media), headers=headers)


def _status_protobuf(code: int, message: str) -> bytes:
    """google.rpc.Status has two fields here: 1 code (varint), 2 message (string)."""
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _success(media: str, message: Any, outcome: Outcome | None = None) -> Response:
    """200 with an Export*ServiceResponse; partial_success only when something was refused."""
    rejected = outcome.rejected if outcome is not None else 0
    if _answer_type(media) == PROTOBUF:
        if rejected and outcome is not None:
            message.partial_success.rejected_spans = rejected
            message.partial_success.error_message = "; ".join(outcome.messages)
        return Response(message.SerializeToString(), media_type=PROTOBUF)
    body: dict[str, Any] = {}
    if rejected and outcome is not None:
        body["partialSuccess"] = {
            "rejectedSpans": str(rejected),
            "errorMessage": "; ".join(outcome.messages),
        }
    return Response(orjson.dumps(body), media_type=JSON)


async def _failures(request: Request, media: str, work: Any) -> Response:
    """Run `work`; turn each failure the client should see into its OTLP answer."""
    try:
        response: Response = await work()
        return response
    except ApiError as exc:
        return status_response(media, exc.status, exc.message)
    except UnsupportedMediaType as exc:
        return status_response(media, 415, str(exc))
    except Undecodable as exc:
        return status_response(media, 400, str(exc))
    except LimitExceeded as exc:
        return status_response(media, 400, str(exc))
    except (WriterUnavailable, PendingFull) as exc:
        return status_response(media, 503, str(exc))
    except DATABASE_ERRORS as exc:
        if not is_outage(exc):
            raise
        message = (
            f"the database is unavailable; nothing was stored, retry in {RETRY_AFTER_SECONDS} s"
        )
        return status_response(media, 503, message)


_OTLP_BODY = {
    "requestBody": {
        "required": True,
        "description": "an OTLP/HTTP export request (opentelemetry-proto), protobuf or JSON",
        "content": {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.post(
    "/v1/traces",
    summary="OTLP/HTTP traces: agentops 0.4, OpenLLMetry, OpenInference, openai-v2, any OTel SDK",
    response_class=Response,
    openapi_extra=_OTLP_BODY,
)
async def export_traces(request: Request) -> Response:
    media = _media_type(request)

    async def work() -> Response:
        svc = services(request)
        project = await optional_project(request)
        body = await read_body(request, svc.config.max_body_bytes)
        if project is not None:
            outcome = await svc.otlp.ingest_body(body, media, project)
            return _success(media, ExportTraceServiceResponse(), outcome)
        spans = await run_in_threadpool(svc.otlp.decode, body, media)
        if not is_agentops_client(spans):
            raise ApiError(
                401,
                "missing_api_key",
                "missing API key: send Authorization: Bearer <API key> or "
                "X-Agentops-Api-Key: <API key> (OTEL_EXPORTER_OTLP_HEADERS)",
            )
        held = await svc.otlp.hold(spans)
        if held.rejected == held.spans:
            raise ApiError(
                401,
                "missing_api_key",
                "missing API key: this trace's session "
                "exists, and only a request with its project's key adds to it",
            )
        return _success(media, ExportTraceServiceResponse(), held)

    return await _failures(request, media, work)


@router.post(
    "/v1/logs",
    summary="OTLP/HTTP logs: GenAI prompts and completions join their span",
    openapi_extra=_OTLP_BODY,
)
async def export_logs(request: Request) -> Response:
    media = _media_type(request)

    async def work() -> Response:
        svc = services(request)
        project = await require_project(request)
        body = await read_body(request, svc.config.max_body_bytes)
        records = await run_in_threadpool(decode_logs, body, media)
        await svc.otlp.ingest_logs(records, project)
        return _success(media, ExportLogsServiceResponse())

    return await _failures(request, media, work)


@router.post(
    "/v1/metrics", summary="OTLP/HTTP metrics: accepted and not kept", openapi_extra=_OTLP_BODY
)
async def export_metrics(request: Request) -> Response:
    media = _media_type(request)

    async def work() -> Response:
        svc = services(request)
        await require_project(request)
        if media not in (PROTOBUF, JSON):
            raise UnsupportedMediaType(
                f"Content-Type {media or 'none'!r} is not OTLP: use {PROTOBUF} or {JSON}"
            )
        body = await read_body(request, svc.config.max_body_bytes)
        _check_metrics(body, media)  # not kept, but a body that is no export is refused
        return _success(media, ExportMetricsServiceResponse())

    return await _failures(request, media, work)


def _check_metrics(body: bytes, media: str) -> None:
    if media == JSON:
        try:
            valid = isinstance(orjson.loads(body), dict)
        except orjson.JSONDecodeError:
            valid = False
        if not valid:
            raise Undecodable("an OTLP/JSON export request is a JSON object")
        return
    try:
        ExportMetricsServiceRequest().ParseFromString(body)
    except DecodeError:
        raise Undecodable("not an OTLP/protobuf ExportMetricsServiceRequest") from None
