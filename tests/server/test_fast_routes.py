"""The ingest routes are called without FastAPI's router (api/fast_routes.py): their answers,
errors included, are the ones the app's handlers give, and an endpoint the fast path cannot
call as FastAPI would is refused when the app starts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from agentops_server.api.errors import ApiError, error_response, install_error_handlers
from agentops_server.api.fast_routes import FastRoutes
from agentops_server.ingest.v2 import Invalid
from agentops_server.ingest.writer import WriterUnavailable
from agentops_server.storage.store import Conflict, InvalidCursor, NotFound
from tests.support.server import free_port

router = APIRouter()
STORE_ERRORS: dict[str, Exception] = {
    "missing": NotFound("session s not found"),
    "taken": Conflict("session id s is already used by another project"),
    "cursor": InvalidCursor("invalid cursor 'x'"),  # a subclass of StoreError and ValueError
    "field": Invalid("id is required"),
}


@router.post("/echo")
async def echo(request: Request) -> dict[str, Any]:
    body = await request.json()
    if body.get("fail") == "api":
        raise ApiError(409, "conflict", "already there")
    if body.get("fail") == "writer":
        raise WriterUnavailable("the server is shutting down; retry")
    if body.get("fail") == "http":
        raise HTTPException(418, "short and stout")
    if body.get("fail") == "sync":
        raise Refused("no thanks")
    if body.get("fail") == "bug":
        raise KeyError("a bug")
    if body.get("fail") in STORE_ERRORS:  # what storage raises, answered by the app's handlers
        raise STORE_ERRORS[body["fail"]]
    # FastAPI's router puts the endpoint it chose in the scope; the fast path has no router
    return {"echo": body, "text": "é", "routed": "endpoint" in request.scope}


class Refused(Exception):
    pass


def _refused(request: Request, exc: Exception) -> JSONResponse:  # a plain function handler
    return error_response(409, "refused", str(exc))


async def _teapot(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(418, "teapot", str(exc.detail))


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_exception_handler(418, _teapot)
    app.add_exception_handler(Refused, _refused)
    app.include_router(router)
    app.add_api_route("/routed", echo, methods=["POST"])  # the same endpoint, through FastAPI
    app.add_middleware(FastRoutes, fastapi=app, routers=[router], paths=["/echo"])
    return app


@pytest.fixture
def url() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_a_fast_route_answers_json_as_fastapi_would(url: str) -> None:
    res = httpx.post(f"{url}/echo", json={"a": [1, None]})
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/json"
    assert res.json() == {"echo": {"a": [1, None]}, "text": "é", "routed": False}


def test_its_errors_are_answered_by_the_apps_handlers(url: str) -> None:
    conflict = httpx.post(f"{url}/echo", json={"fail": "api"})
    assert conflict.status_code == 409
    assert conflict.json()["error"] == {"code": "conflict", "message": "already there"}
    teapot = httpx.post(f"{url}/echo", json={"fail": "http"})  # the app's handler by status
    assert teapot.status_code == 418
    assert teapot.json()["error"] == {"code": "teapot", "message": "short and stout"}
    refused = httpx.post(f"{url}/echo", json={"fail": "sync"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "refused"
    closing = httpx.post(f"{url}/echo", json={"fail": "writer"})
    assert closing.status_code == 503 and closing.headers["Retry-After"] == "5"
    assert closing.json()["error"]["code"] == "unavailable"


@pytest.mark.parametrize("fail", sorted(STORE_ERRORS))
def test_a_store_error_is_answered_as_on_a_routed_endpoint(url: str, fail: str) -> None:
    fast = httpx.post(f"{url}/echo", json={"fail": fail})
    routed = httpx.post(f"{url}/routed", json={"fail": fail})
    assert 400 <= fast.status_code < 500, fast.text
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
    assert fast.json()["error"]["code"] != "internal_error"


def test_an_unexpected_error_is_a_logged_json_500(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        res = httpx.post(f"{url}/echo", json={"fail": "bug"})
    assert res.status_code == 500
    assert res.json()["error"]["code"] == "internal_error"
    assert any("unexpected error on POST /echo" in r.getMessage() for r in caplog.records)


def test_other_methods_on_its_path_go_through_fastapi(url: str) -> None:
    res = httpx.get(f"{url}/echo")
    assert res.status_code == 405 and res.headers["Allow"] == "POST"
    assert res.json()["error"]["code"] == "method_not_allowed"


def test_an_endpoint_with_a_dependency_is_refused_at_start() -> None:
    guarded = APIRouter()

    def user(request: Request) -> str:
        return "someone"

    @guarded.post("/guarded")
    async def needs_a_user(request: Request, who: str = Depends(user)) -> dict[str, Any]:
        return {"who": who}

    app = FastAPI()
    app.include_router(guarded)
    with pytest.raises(RuntimeError, match="must take only the request"):
        FastRoutes(app, fastapi=app, routers=[guarded], paths=["/guarded"])
    with pytest.raises(RuntimeError, match="0 POST routes at /missing"):
        FastRoutes(app, fastapi=app, routers=[guarded], paths=["/missing"])


def test_an_app_that_would_not_call_the_endpoint_as_routed_is_refused_at_start() -> None:
    guarded = FastAPI(dependencies=[Depends(lambda: None)])
    guarded.include_router(router)
    with pytest.raises(RuntimeError, match="the app has dependencies"):
        FastRoutes(guarded, fastapi=guarded, routers=[router], paths=["/echo"])
    limited = APIRouter()
    limited.add_api_route("/small", echo, methods=["POST"], max_body_size=1024)
    with pytest.raises(RuntimeError, match="body size limit of its own"):
        FastRoutes(guarded, fastapi=FastAPI(), routers=[limited], paths=["/small"])
    prefixed = FastAPI()
    prefixed.include_router(router, prefix="/api")  # /echo is not where the app answers it
    with pytest.raises(RuntimeError, match="answers no POST /echo"):
        FastRoutes(prefixed, fastapi=prefixed, routers=[router], paths=["/echo"])
