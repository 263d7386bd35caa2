"""The ASGI application, built by one factory from one config and one store. Nothing global."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from agentops_server import __version__
from agentops_server.alerts.alerter import Alerter
from agentops_server.api import (
    agentops_v4,
    alerts,
    budget,
    health,
    ingest,
    otlp,
    prices,
    sessions,
    ttd,
)
from agentops_server.api.budget_headers import INGEST_PATHS, BudgetHeaders
from agentops_server.api.deps import Services
from agentops_server.api.errors import error_response, install_error_handlers
from agentops_server.api.fast_routes import FastRoutes
from agentops_server.api.reference import reference_router
from agentops_server.api.schemas import install_schemas
from agentops_server.auth.project_tokens import ProjectTokenSigner
from agentops_server.auth.revocation import KeyStatusCache
from agentops_server.auth.tokens import TokenSigner, load_secret
from agentops_server.budgets import BudgetWatch
from agentops_server.config import ServerConfig
from agentops_server.dashboard import install_dashboard
from agentops_server.ingest.otlp.pipeline import OtlpIngest
from agentops_server.ingest.writer import IngestWriter
from agentops_server.pricing import Pricer, load_price_table
from agentops_server.storage.store import Store
from agentops_server.sweeper import Sweeper

CONFIG_ENV = "AGENTOPS_SERVE_CONFIG"
"""How `agentops serve` hands its config to `app_from_env` (uvicorn's factory, e.g. workers)."""


def create_app(config: ServerConfig, store: Store, *, close_store: bool = False) -> FastAPI:
    """The server app. Its lifespan starts the write batcher and the inactivity sweeper and, on
    shutdown, drains them: an acknowledged event is committed before the process exits."""
    writer = IngestWriter(store)
    pricer = Pricer(store)
    otlp_ingest = OtlpIngest(store, pricer, writer, config)
    sweeper = Sweeper(store, config.session_inactivity_seconds, also=otlp_ingest.expire)
    alerter = Alerter(store, config)
    budgets = BudgetWatch(store, config.budget_check_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        sweeper.start()
        alerter.start()
        try:
            yield
        finally:
            await alerter.stop()
            await sweeper.stop()
            await writer.close()
            if close_store:
                store.close()

    app = FastAPI(
        title="agentops server",
        version=__version__,
        description=(
            "Self-hosted AgentOps: v2 ingestion (agentops 0.3.x), OTLP/HTTP ingestion (agentops "
            "0.4.x and OpenTelemetry GenAI instrumentations) and export."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by api/reference.py, from this server's own files
        redoc_url=None,
    )
    signer = TokenSigner(load_secret(config))
    app.state.services = Services(
        config=config,
        store=store,
        signer=signer,
        pricer=pricer,
        writer=writer,
        key_status=KeyStatusCache(store.get_api_key, config.key_check_seconds),
        key_hashes=KeyStatusCache(store.find_api_key, config.key_check_seconds),
        project_tokens=ProjectTokenSigner(signer),
        otlp=otlp_ingest,
        budgets=budgets,
    )
    app.state.config = config
    app.state.store = store
    install_error_handlers(app)
    install_schemas(app)
    app.include_router(health.router)
    app.include_router(ingest.router)
    app.include_router(otlp.router)
    app.include_router(agentops_v4.router)
    app.include_router(sessions.router)
    app.include_router(prices.router)
    app.include_router(budget.router)
    app.include_router(ttd.router)
    app.include_router(alerts.router)
    app.include_router(reference_router(app.title, app.openapi_url or "/openapi.json"))
    install_dashboard(app, config, store)
    # inside BudgetHeaders, which adds its headers to their answers
    app.add_middleware(
        FastRoutes, fastapi=app, routers=[ingest.router, otlp.router], paths=INGEST_PATHS
    )
    app.add_middleware(BudgetHeaders, watch=budgets)  # inside CollapseSlashes: clean paths
    app.add_middleware(CollapseSlashes)
    app.add_middleware(RejectNulInUrls)
    if config.trusted_proxies:  # else the client address is the peer's, whatever it sends
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(config.trusted_proxies))
    return app


class RejectNulInUrls:
    """A NUL (`%00`) in a path or query is a 400: no database stores it in text (PostgreSQL
    refuses it), so it must not reach a lookup, a filter or a price override's model name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"]
            or b"%00" in scope["query_string"]
            or b"\x00" in scope["query_string"]
        ):
            message = "NUL characters (%00) are not allowed in a URL's path or query"
            await error_response(400, "bad_request", message)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class CollapseSlashes:
    """`//v2/create_session` (agentops 0.3 with a trailing slash in its endpoint) == `/v2/...`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("//"):
            path = "/" + scope["path"].lstrip("/")
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def app_from_env() -> FastAPI:
    """uvicorn factory (`agentops_server.app:app_from_env`): the config `serve` put in the
    environment, a store of this process's own, and the app."""
    from agentops_server.storage.sql_store import open_store

    config = ServerConfig.from_json(os.environ[CONFIG_ENV])
    app = create_app(config, open_store(config.database_url), close_store=True)
    load_price_table()
    tune_runtime()
    return app


GIL_SWITCH_SECONDS = 0.0005


def tune_runtime() -> None:
    """For a server process.

    Garbage collection: ingestion allocates a few containers per event, which made the cyclic
    collector run constantly and rescan everything imported at start (measured ~10 us per
    event). Freeze what is loaded now and collect the young generation less often: each young
    collection scans what the requests in flight hold (a few tens of thousands of containers),
    so its cost is nearly the same at any threshold, and 100,000 allocations between them
    instead of 10,000 took OTLP ingest's young collections from ~300 ms to ~20 ms per 100,000
    spans (peak RSS unchanged).

    The GIL's switch interval: the writer thread lets go of the GIL while SQLite inserts, and
    must wait for a request thread to yield it to go on; Python's default 5 ms made the writer
    idle most of the time while requests were decoded. 0.5 ms hands it back sooner
    (docs/otel.md, Speed)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 20, 100)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
