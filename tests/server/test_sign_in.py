"""Routes sign in through dependencies (api/deps.py, the dashboard's Dashboard.signed_in and
checked_post): a request without a credential is refused before its parameters or body are
read, with the same answer on every route of a kind.

The routes are the app's own (FastAPI's routes, which include the fast ingest routes and the
dashboard's), so a route added without sign-in fails here unless PUBLIC names it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Route

from agentops_server.api.budget_headers import INGEST_PATHS
from agentops_server.config import ServerConfig
from tests.server.conftest import LiveServer, running
from tests.support.server import free_port

ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"  # no such session, project, rule or key
BAD_QUERY = {"limit": "0", "start_ms": "x", "end_ms": "x", "buckets": "0", "from_ms": "x"}
"""Parameters no route takes as they are: the refusal comes first all the same."""
BAD_BODY = b"{"
BAD_TYPE = {"content-type": "multipart/form-data"}
"""A body nothing can read (a form without its boundary, JSON cut short): the same."""

PUBLIC = {
    # liveness probe (load balancers, `agentops serve`'s own readiness check)
    ("GET", "/health"),
    # the API reference (api/reference.py) and the document it shows
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/docs/assets/{name}"),
    # the dashboard's files, and signing in and out (forms checked by their CSRF token)
    ("GET", "/static/{name}"),
    ("GET", "/favicon.ico"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/logout/everywhere"),
    # the credential is in the request itself: an API key in the body; a signed time-travel id
    ("POST", "/v3/auth/token"),
    ("GET", "/v2/ttd/{ttd_id}"),
    # agentops 0.4 exports spans and uploads its log before its token arrives: held for no
    # project until a request with a credential names their trace (ingest/otlp/tokenless.py)
    ("POST", "/v1/traces"),
    ("POST", "/v4/logs/upload/"),
}

KEY_MESSAGE = "missing API key: send it in the X-Agentops-Api-Key header"
PROJECT_MESSAGE = "missing API key: send Authorization: Bearer <API key> or X-Agentops-Api-Key"
TOKEN_MESSAGE = "missing session token: send Authorization: Bearer <jwt from create_session>"
REFUSALS = [
    {"error": {"code": "missing_api_key", "message": KEY_MESSAGE}, "message": KEY_MESSAGE},
    {"error": {"code": "missing_api_key", "message": PROJECT_MESSAGE}, "message": PROJECT_MESSAGE},
    {"error": {"code": "missing_token", "message": TOKEN_MESSAGE}, "message": TOKEN_MESSAGE},
    {"code": 16, "message": PROJECT_MESSAGE},  # OTLP's google.rpc.Status, UNAUTHENTICATED
    {"error": {"code": "unauthorized", "message": "sign in to the dashboard first"}},
]
"""Every answer to a request without a credential: a 401 with one of these bodies, or the
dashboard's redirect to its sign-in page."""


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app answers; HEAD comes with GET."""
    found = []
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if not isinstance(original, APIRoute | Route) or route.path is None:
            found.append(("ANY", str(route.path)))  # a mount: it must be named in PUBLIC
            continue
        found += [
            (method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"
        ]
    return found


def concrete(path: str) -> str:
    """A URL for a route's path: ID for each parameter, a model name for a `:path` one."""
    return re.sub(r"\{[^}]*\}", ID, re.sub(r"\{[^}:]+:path\}", "gpt-4o", path))


def refused(res: httpx.Response) -> bool:
    if res.status_code == 303:
        return res.headers["location"].startswith("/login?next=")
    return res.status_code == 401 and res.json() in REFUSALS


def unrefused(live: LiveServer) -> list[str]:
    """The routes outside PUBLIC that do something for a request without a credential."""
    failures = []
    for method, path in app_routes(live.app):
        if (method, path) in PUBLIC:
            continue
        if method == "ANY":
            failures.append(f"{path}: a mount; name it in PUBLIC or give its app a sign-in")
            continue
        url = live.url + concrete(path)
        res = live.client.request(method, url, params=BAD_QUERY, content=BAD_BODY, headers=BAD_TYPE)
        if not refused(res):
            failures.append(f"{method} {path}: {res.status_code} {res.text[:120]}")
    return failures


def test_every_route_but_the_public_ones_refuses_a_request_without_a_credential_first(
    live: LiveServer,
) -> None:
    assert unrefused(live) == []
    routes = set(app_routes(live.app))
    assert PUBLIC <= routes, f"PUBLIC names routes the app no longer has: {PUBLIC - routes}"
    assert len(routes - PUBLIC) >= 40  # the listing found the app's routes (48 in Dec 2026)


def test_the_fast_ingest_routes_are_among_those_checked(live: LiveServer) -> None:
    """api/fast_routes.py calls them without FastAPI's dependencies, but the app keeps them
    registered (FastRoutes refuses to start otherwise), so the listing has them."""
    assert {("POST", path) for path in INGEST_PATHS} <= set(app_routes(live.app))


def test_a_route_added_without_sign_in_is_caught(tmp_path: Path) -> None:
    def leak(request: Request, project_id: str) -> dict[str, str]:
        return {"project_id": project_id}

    def add_leak(app: FastAPI) -> None:
        app.add_api_route("/projects/{project_id}/leak", leak, methods=["GET"])

    config = ServerConfig.build(data_dir=tmp_path / "data", port=free_port(), environ={})
    with running(config, add_leak) as live:
        failures = unrefused(live)
    assert len(failures) == 1 and failures[0].startswith("GET /projects/{project_id}/leak: 200")


@pytest.mark.parametrize("path", ["/projects", f"/projects/{ID}/keys", f"/projects/{ID}/budget"])
def test_a_form_is_refused_before_its_body_is_read(live: LiveServer, path: str) -> None:
    """checked_post read the form first: an anonymous post of a broken form was a 400."""
    res = live.client.post(live.url + path, content=BAD_BODY, headers=BAD_TYPE)
    assert res.status_code == 303, res.text
    assert res.headers["location"] == "/login?next=" + quote(path, safe="")
