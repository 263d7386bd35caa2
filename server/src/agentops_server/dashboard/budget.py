"""The project's budget page: its daily and monthly cost limits, set or cleared, and today's
and this month's spend against them (UTC). Writes check the CSRF token of the signed-in visit."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from agentops_server.budgets import BadLimit, parse_limit, read_status, status_json
from agentops_server.dashboard.context import Dashboard, Posted
from agentops_server.dashboard.visits import Visit
from agentops_server.storage.store import NotFound

FIELDS = {"daily_limit_usd": "the daily limit", "monthly_limit_usd": "the monthly limit"}


def add_budget_routes(router: APIRouter, dash: Dashboard) -> None:
    checked_post = Depends(dash.checked_post)
    signed_in = Depends(dash.signed_in)

    @router.get("/projects/{project_id}/budget")
    def budget(request: Request, project_id: str, visit: Visit = signed_in) -> Response:
        try:
            project = dash.project(project_id)
            status = read_status(dash.store, project.id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        payload = {"data": status_json(status)}
        return dash.page(request, visit, "budget.html", payload, project=project, nav="budget")

    @router.post("/projects/{project_id}/budget")
    async def set_budget(
        request: Request, project_id: str, posted: Posted = checked_post
    ) -> Response:
        visit, form = posted.visit, posted.form
        try:
            daily, monthly = (parse_limit(label, form.get(name)) for name, label in FIELDS.items())
        except BadLimit as exc:
            return dash.error(request, visit, 400, f"{exc}; leave it empty for no limit")
        try:
            await run_in_threadpool(dash.store.set_budget, project_id, daily, monthly)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        request.app.state.services.budgets.forget(project_id)  # this process sees it at once
        target = f"/projects/{project_id}/budget"
        return dash.visits.finish(RedirectResponse(target, status_code=303), visit)
