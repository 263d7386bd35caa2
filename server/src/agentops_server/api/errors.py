"""One error type for the API and the handlers that turn every failure into JSON.

Body: {"error": {"code", "message"}, "message"}. The top-level "message" repeats the text
because the agentops 0.3 client prints body["message"] when it gets a 400.

The storage and domain errors a route lets through are answered here, each with one status and
code (DOMAIN_ERRORS) and its own message: routes catch one only to say something else.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from agentops_server.alerts.rules import InvalidRule
from agentops_server.ingest.otlp.pending_budget import PendingFull
from agentops_server.ingest.v2 import Invalid
from agentops_server.ingest.writer import WriterUnavailable
from agentops_server.storage.outage import DATABASE_ERRORS, is_outage
from agentops_server.storage.store import Conflict, InvalidCursor, LimitExceeded, NotFound

logger = logging.getLogger("agentops_server")
RETRY_AFTER_SECONDS = 5

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}
Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


DOMAIN_ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    Invalid: (422, "invalid_request", ""),  # a v2 body's field, named by the message
    InvalidRule: (422, "invalid_request", ""),
    LimitExceeded: (422, "invalid_request", ""),  # a stored total would overflow
    NotFound: (404, "not_found", ""),
    Conflict: (409, "conflict", ""),
    InvalidCursor: (400, "bad_request", "invalid cursor: "),
}
"""Status, code and message prefix of each error raised below the routes (class or subclass).
OTLP routes answer in their protocol's shape instead (api/otlp.py)."""


class ApiError(Exception):
    """An error answered to the client as JSON with `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}, "message": message}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


def unauthorized(message: str, code: str = "unauthorized") -> ApiError:
    return ApiError(401, code, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's).
    Each method is tried against every route, which also sees into the routers FastAPI wraps
    when they are included (their own `methods` are not visible from the app)."""
    routes = request.app.router.routes
    methods = {
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method, "type": "http"})[0] is Match.FULL
            for route in routes
        )
    }
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for item in exc.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        return error_response(422, "invalid_request", "; ".join(problems) or "invalid request")

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error (see the server log)")

    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        if not is_outage(exc):
            return await on_unexpected(request, exc)
        logger.warning(
            "database unavailable on %s %s: %s", request.method, request.url.path, exc.args[:1]
        )
        response = error_response(
            503,
            "database_unavailable",
            f"the database is unavailable; nothing was stored, retry in {RETRY_AFTER_SECONDS} s",
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def on_domain_error(status: int, code: str, prefix: str) -> Handler:
        async def answer(request: Request, exc: Exception) -> JSONResponse:
            return error_response(status, code, prefix + str(exc))

        return answer

    async def on_writer_unavailable(request: Request, exc: Exception) -> JSONResponse:
        response = error_response(503, "unavailable", str(exc))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(WriterUnavailable, on_writer_unavailable)
    app.add_exception_handler(PendingFull, on_writer_unavailable)
    for error, (status, code, prefix) in DOMAIN_ERRORS.items():
        app.add_exception_handler(error, on_domain_error(status, code, prefix))
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)
