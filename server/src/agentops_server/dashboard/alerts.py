"""A project's alert rules and their history, with forms to add and remove rules. Every write
checks the sign-in and the CSRF token, as the other dashboard forms do."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from agentops_server.alerts.rules import KINDS, THRESHOLD_UNIT, InvalidRule, parse_rule
from agentops_server.alerts.views import alerts_page
from agentops_server.dashboard.context import Dashboard, Posted
from agentops_server.dashboard.visits import Visit
from agentops_server.storage.store import NotFound

HISTORY_SHOWN = 50
UNITS = {kind.value: unit for kind, unit in THRESHOLD_UNIT.items()}


def add_alert_routes(router: APIRouter, dash: Dashboard) -> None:
    checked_post = Depends(dash.checked_post)
    signed_in = Depends(dash.signed_in)

    @router.get("/projects/{project_id}/alerts")
    def alerts(request: Request, project_id: str, visit: Visit = signed_in) -> Response:
        try:
            project = dash.project(project_id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        rules = dash.store.list_alert_rules(project.id)
        firings = dash.store.list_alert_firings(project.id, None, HISTORY_SHOWN)
        payload = alerts_page(rules, firings, dash.config.base_url)
        return dash.page(
            request, visit, "alerts.html", payload, project=project, nav="alerts",
            kinds=KINDS, units=UNITS,
        )  # fmt: skip

    @router.post("/projects/{project_id}/alerts")
    async def add_rule(
        request: Request, project_id: str, posted: Posted = checked_post
    ) -> Response:
        visit, form = posted.visit, posted.form
        try:
            project = await run_in_threadpool(dash.project, project_id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        try:
            write = parse_rule(
                project.id,
                form.get("kind", "").strip(),
                form.get("threshold", "").strip() or None,
                form.get("webhook_url", "").strip(),
                window_minutes=_whole(form.get("window_minutes")),
                min_sessions=_whole(form.get("min_sessions")),
            )
        except (InvalidRule, ValueError) as exc:
            return dash.error(request, visit, 400, f"{exc}: go back and correct it")
        await run_in_threadpool(dash.store.create_alert_rule, write)
        target = f"/projects/{project.id}/alerts"
        return dash.visits.finish(RedirectResponse(target, status_code=303), visit)

    @router.post("/projects/{project_id}/alerts/{rule_id}/remove")
    async def remove_rule(
        request: Request, project_id: str, rule_id: str, posted: Posted = checked_post
    ) -> Response:
        visit = posted.visit
        try:
            await run_in_threadpool(dash.store.delete_alert_rule, project_id, rule_id)
        except NotFound:
            return dash.error(request, visit, 404, f"alert rule {rule_id} not found here")
        target = f"/projects/{project_id}/alerts"
        return dash.visits.finish(RedirectResponse(target, status_code=303), visit)


def _whole(raw: str | None) -> int | None:
    """A form's whole number (the rule's check says what is allowed); empty is unset."""
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidRule(f"{raw!r} is not a whole number") from None
