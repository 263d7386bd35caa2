"""The dashboard: server-rendered pages with JSON twins, signed cookie sessions, no build step.

`install_dashboard(app, config, store)`, called by create_app, mounts it at `/`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from agentops_server.auth.cookies import CookieSigner
from agentops_server.auth.tokens import load_secret
from agentops_server.config import ServerConfig
from agentops_server.dashboard.admin import add_admin_routes
from agentops_server.dashboard.alerts import add_alert_routes
from agentops_server.dashboard.budget import add_budget_routes
from agentops_server.dashboard.context import Answered, Dashboard, send_answer
from agentops_server.dashboard.notice import KeyNotice
from agentops_server.dashboard.pages import add_page_routes
from agentops_server.dashboard.signin import add_signin_routes
from agentops_server.dashboard.visits import Visits
from agentops_server.storage.store import Store

__all__ = ["dashboard_router", "install_dashboard"]


def install_dashboard(app: FastAPI, config: ServerConfig, store: Store) -> None:
    """The dashboard's routes, and the handler that sends what its sign-in dependencies
    answer (the sign-in page, a 401, a refused form)."""
    app.include_router(dashboard_router(config, store))
    app.add_exception_handler(Answered, send_answer)


def dashboard_router(config: ServerConfig, store: Store) -> APIRouter:
    signer = CookieSigner(load_secret(config))
    secure = (config.public_url or "").startswith("https://")
    dash = Dashboard(
        config=config,
        store=store,
        visits=Visits(signer, secure=secure),
        notice=KeyNotice(signer, secure=secure),
    )
    router = APIRouter(include_in_schema=False)

    @router.get("/static/{name}")
    def static(name: str, request: Request) -> Response:
        return dash.static.response(name)

    @router.get("/favicon.ico")
    def favicon() -> Response:
        """Browsers ask for /favicon.ico by themselves: the same icon as the pages link."""
        return RedirectResponse(dash.static.url("favicon.svg"), status_code=301)

    add_signin_routes(router, dash)
    add_admin_routes(router, dash)
    add_alert_routes(router, dash)
    add_budget_routes(router, dash)
    add_page_routes(router, dash)
    return router
