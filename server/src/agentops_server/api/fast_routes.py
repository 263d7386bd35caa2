"""The ingest routes, called straight from the middleware stack.

Clients post events hundreds of times a second, in small batches (agentops 0.3 sends 25 per
request). FastAPI's routing, dependency solving, response validation and exception wrappers
cost about 0.2 ms of CPU per request there, a tenth of a small batch's whole cost, and these
endpoints use none of them: each takes the bare `Request` and returns a dict or a Response.
FastRoutes calls such endpoints itself and answers their errors with the app's own exception
handlers, so what a client sees is the same either way. The routes stay registered with FastAPI,
which documents them (OpenAPI) and answers every other method on their paths.

Only endpoints whose one parameter is the request are taken. Refused when the app starts,
instead of being called without what FastAPI would have done: an endpoint that gains a
dependency (of its own, its router's or the app's) or a parameter, a body size limit of its
own or its router's, and a path no route of the app answers (a router included under a
prefix). Not checked, so not to be used with these routes: dependencies or a body size limit
given to `include_router`, and a response class or model for a dict answer (it is written
with orjson: JSON values only; an endpoint that returns a Response is sent as it is, as
FastAPI would). FastAPI's own OpenTelemetry spans, when enabled for the server, name these
requests by their method alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

import orjson
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Any]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class FastRoutes:
    """Calls the endpoints of `paths` (POST) without FastAPI's router; everything else goes
    on to `app`. Put it inside the middlewares that must see every request."""

    def __init__(
        self, app: ASGIApp, fastapi: FastAPI, routers: Sequence[APIRouter], paths: Iterable[str]
    ) -> None:
        self.app = app
        self._fastapi = fastapi
        if fastapi.router.dependencies:
            raise RuntimeError("FastRoutes: the app has dependencies, which it would skip")
        self._endpoints = {path: _bare_endpoint(fastapi, routers, path) for path in paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._endpoints.get(scope["path"]) if scope["type"] == "http" else None
        if endpoint is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            result = await endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # unexpected: ServerErrorMiddleware logs it and answers 500, as for any route
            if inspect.iscoroutinefunction(handler):
                result = await handler(request, exc)
            else:  # as Starlette runs a plain function
                result = await run_in_threadpool(handler, request, exc)
        if not isinstance(result, Response):
            result = Response(orjson.dumps(result), media_type="application/json")
        await result(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The app's handler for `exc`, as Starlette's ExceptionMiddleware finds it: by status
        code for an HTTPException, else by its class or nearest base; None for the catch-all
        (Exception), which ServerErrorMiddleware runs."""
        handlers = self._fastapi.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return cast(Handler, handlers[exc.status_code])
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                return cast(Handler, handlers[cls])
        return None


def _bare_endpoint(app: FastAPI, routers: Sequence[APIRouter], path: str) -> Endpoint:
    """The endpoint of POST `path` in `routers`, which `app` must answer at that path."""
    found = [
        (router, route)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.path == path and "POST" in (route.methods or ())
    ]
    if len(found) != 1:
        raise RuntimeError(f"FastRoutes: {len(found)} POST routes at {path}, expected one")
    router, route = found[0]
    parameters = inspect.signature(route.endpoint).parameters
    takes_request = len(parameters) == 1 and route.dependant.request_param_name is not None
    dependencies = router.dependencies or route.dependencies
    if not takes_request or dependencies or route.status_code not in (None, 200):
        raise RuntimeError(
            f"FastRoutes: POST {path} must take only the request (no dependencies, status 200)"
        )
    limits = getattr(route, "max_body_size", None), getattr(router, "max_body_size", None)
    if limits != (None, None):
        raise RuntimeError(f"FastRoutes: POST {path} has a body size limit of its own")
    scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": []}
    if not any(r.matches(scope)[0] is Match.FULL for r in app.router.routes):
        raise RuntimeError(f"FastRoutes: the app answers no POST {path} (a router's prefix?)")
    return cast(Endpoint, route.endpoint)
