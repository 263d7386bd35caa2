"""The project-budget signal on ingest answers: X-AgentOps-Budget-Exceeded and -Message.

Authentication (api/deps.py) notes the request's project in the request state; this
middleware adds the project's budget headers (budgets.BudgetWatch) to the answer of every
ingest route, whatever its status. Reading the status never fails an answer: on an error the
answer goes out without the headers.
"""

from __future__ import annotations

import logging

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentops import wire
from agentops_server.budgets import BudgetWatch

logger = logging.getLogger("agentops_server.budgets")
PROJECT_STATE = "agentops_project"
"""Key of the authenticated project in the request state (scope["state"])."""
INGEST_PATHS = frozenset(
    {
        wire.CREATE_SESSION,
        wire.UPDATE_SESSION,
        wire.CREATE_EVENTS,
        wire.CREATE_AGENT,
        wire.REAUTHORIZE_JWT,
        wire.DEVELOPER_ERRORS,
        "/v1/traces",
        "/v1/logs",
        "/v1/metrics",
    }
)


class BudgetHeaders:
    def __init__(self, app: ASGIApp, watch: BudgetWatch) -> None:
        self.app = app
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in INGEST_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                project = state.get(PROJECT_STATE)
                if project is not None:
                    headers = MutableHeaders(scope=message)
                    for name, value in (await self._headers(project)).items():
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_budget)

    async def _headers(self, project_id: str) -> dict[str, str]:
        try:
            return await self.watch.headers(project_id)
        except Exception:  # the database is down, say: the answer itself must still go out
            logger.warning("could not read the budget of project %s", project_id, exc_info=True)
            return {}
