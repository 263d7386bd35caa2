"""Projects and API keys: list, create a project (with its first key), create and revoke keys.
Every write checks the CSRF token of the signed-in visit."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from agentops_server import dashboard_queries as dq
from agentops_server.auth.keys import issue_key
from agentops_server.dashboard.context import Dashboard, Posted
from agentops_server.dashboard.visits import Visit
from agentops_server.storage.records import Project
from agentops_server.storage.store import Conflict, NotFound

MAX_NAME = 200


def add_admin_routes(router: APIRouter, dash: Dashboard) -> None:
    checked_post = Depends(dash.checked_post)
    signed_in = Depends(dash.signed_in)

    @router.get("/projects")
    def projects(request: Request, visit: Visit = signed_in) -> Response:
        payload = dq.list_projects(dash.store)
        return dash.page(request, visit, "projects.html", payload, nav="projects")

    @router.post("/projects")
    async def create_project(request: Request, posted: Posted = checked_post) -> Response:
        visit, form = posted.visit, posted.form
        name = str(form.get("name") or "").strip()
        if not name or len(name) > MAX_NAME or "\x00" in name:  # PostgreSQL stores no NUL
            message = f"a project needs a name of 1 to {MAX_NAME} characters, without NUL"
            return dash.error(request, visit, 400, message)
        try:
            project = await run_in_threadpool(dash.store.create_project, name)
        except Conflict as exc:
            return dash.error(request, visit, 409, f"{exc}: choose another name")
        return await _issue_key_page(dash, request, visit, project, "default", "keys")

    @router.get("/projects/{project_id}/keys")
    def keys(request: Request, project_id: str, visit: Visit = signed_in) -> Response:
        try:
            project = dash.project(project_id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        payload = dq.list_api_keys(dash.store, project)
        new_key = dash.notice.take(request, visit, project.id)
        if new_key is not None:
            payload["data"]["new_key"] = new_key
        response = dash.page(
            request, visit, "keys.html", payload, project=project, nav="keys", new_key=new_key
        )
        if new_key is not None:  # shown once: a reload no longer shows it
            dash.notice.clear(response, project.id)
        return response

    @router.post("/projects/{project_id}/keys")
    async def create_key(
        request: Request, project_id: str, posted: Posted = checked_post
    ) -> Response:
        visit, form = posted.visit, posted.form
        label = str(form.get("label") or "").strip()
        if len(label) > MAX_NAME or "\x00" in label:
            message = f"a label has at most {MAX_NAME} characters, without NUL"
            return dash.error(request, visit, 400, message)
        try:
            project = await run_in_threadpool(dash.project, project_id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        then = "start" if form.get("then") == "start" else "keys"
        return await _issue_key_page(dash, request, visit, project, label, then)

    @router.post("/projects/{project_id}/keys/{key_id}/revoke")
    async def revoke_key(
        request: Request, project_id: str, key_id: str, posted: Posted = checked_post
    ) -> Response:
        visit = posted.visit
        owned = await run_in_threadpool(dash.store.list_api_keys, project_id)
        if not any(k.id == key_id for k in owned):
            return dash.error(request, visit, 404, f"API key {key_id} not found in this project")
        await run_in_threadpool(dash.store.revoke_api_key, key_id)
        target = f"/projects/{project_id}/keys"
        return dash.visits.finish(RedirectResponse(target, status_code=303), visit)


async def _issue_key_page(
    dash: Dashboard, request: Request, visit: Visit, project: Project, label: str, then: str
) -> Response:
    """Issue a key for `project` and redirect to the page that shows it once: the keys page,
    or the project's first-run page (`then="start"`)."""
    issued = await run_in_threadpool(issue_key, dash.store, project.id, label)
    page = "sessions" if then == "start" else "keys"
    response = RedirectResponse(f"/projects/{project.id}/{page}", status_code=303)
    dash.notice.attach(response, visit, project.id, issued.secret, issued.record.label)
    return dash.visits.finish(response, visit)
