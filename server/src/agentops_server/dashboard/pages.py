"""Read pages: overview, sessions list, session page, and the session's JSON endpoints
(event tree levels, timeline density, event windows, one event, stats and export) that the
waterfall uses; the links clients print (`/sessions/{id}`, `/sessions?trace_id=`)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from agentops_server import dashboard_queries as dq
from agentops_server import queries
from agentops_server.dashboard import session_search
from agentops_server.dashboard.context import BadInput, Dashboard, day_range
from agentops_server.dashboard.csv_export import session_csv
from agentops_server.dashboard.render import SECURITY_HEADERS, json_response, wants_json
from agentops_server.dashboard.visits import Visit
from agentops_server.storage.dashboard_records import EventMatch, SessionSort
from agentops_server.storage.records import Project, SessionFilter
from agentops_server.storage.store import InvalidCursor, NotFound

PAGE_SIZE = 50
MAX_WINDOW_EVENTS = 2000
MAX_TREE_PAGE = 1000
TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
LAST_MS = 253_402_300_799_000  # 9999-12-31


def add_page_routes(router: APIRouter, dash: Dashboard) -> None:
    signed_in = Depends(dash.signed_in)
    signed_in_api = Depends(dash.signed_in_api)

    @router.get("/")
    def home(request: Request, visit: Visit = signed_in) -> Response:
        projects = dash.store.list_projects()
        target = f"/projects/{projects[0].id}" if projects else "/projects"
        return dash.visits.finish(_forward(request, target), visit)

    @router.get("/projects/{project_id}")
    def overview(request: Request, project_id: str, visit: Visit = signed_in) -> Response:
        try:
            project = dash.project(project_id)
            start, end, form = day_range(dict(request.query_params), default_days=30)
            payload = dq.overview(dash.store, project, start, end)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        except BadInput as exc:
            return dash.error(request, visit, 400, str(exc))
        if not request.query_params and not payload["data"]["totals"]["sessions"]:
            first = _first_run(dash, request, visit, project)
            if first is not None:
                return first
        return dash.page(
            request, visit, "overview.html", payload, project=project, nav="overview", form=form
        )

    @router.get("/projects/{project_id}/sessions")
    def sessions(request: Request, project_id: str, visit: Visit = signed_in) -> Response:
        params = dict(request.query_params)
        try:
            project = dash.project(project_id)
            filters, form = session_search.parse(request.query_params)
            sort = _sort(params.get("sort"))
            cursor = params.get("cursor") or None
            limit = _int(params.get("limit"), "limit", PAGE_SIZE, 1, 500)
            if params.get("format") == "csv":
                return _sessions_csv(dash, visit, project, filters, sort, cursor)
            payload = dq.list_sessions(dash.store, project.id, filters, sort, cursor, limit)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        except (BadInput, InvalidCursor) as exc:
            return dash.error(request, visit, 400, str(exc))
        if not payload["data"] and not any(v for k, v in params.items() if k != "sort"):
            first = _first_run(dash, request, visit, project)
            if first is not None:
                return first
        keep = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("cursor", "format") and v
        ]
        next_url = None
        if payload["next_cursor"]:
            next_url = _with_query(request.url.path, [*keep, ("cursor", payload["next_cursor"])])
        form = {**form, "sort": sort.value, "cursor": cursor or ""}
        return dash.page(
            request,
            visit,
            "sessions.html",
            payload,
            project=project,
            nav="sessions",
            form=form,
            next_url=next_url,
            first_url=_with_query(request.url.path, keep),
            known_models=dash.store.recent_models(project.id),
        )

    @router.get("/sessions")
    def trace_link(request: Request, visit: Visit = signed_in) -> Response:
        """agentops 0.4 prints `{app_url}/sessions?trace_id=<32 hex>`: the session of that
        OpenTelemetry trace has the trace id as its UUID."""
        trace_id = request.query_params.get("trace_id")
        if trace_id is None:
            projects = dash.store.list_projects()
            target = f"/projects/{projects[0].id}/sessions" if projects else "/projects"
            return dash.visits.finish(_forward(request, target), visit)
        if not TRACE_ID.fullmatch(trace_id):
            shown = trace_id[:40]
            message = f"trace_id must be 32 hexadecimal digits (a trace id), not {shown!r}"
            return dash.error(request, visit, 400, message)
        keep = {k: v for k, v in request.query_params.items() if k != "trace_id"}
        target = _with_query(f"/sessions/{uuid.UUID(hex=trace_id)}", keep)
        return dash.visits.finish(RedirectResponse(target, status_code=303), visit)

    @router.get("/drilldown")
    def drilldown(request: Request, session_id: str = "", visit: Visit = signed_in) -> Response:
        """agentops 0.3's replay link (`https://app.agentops.ai/drilldown?session_id=ID`) with
        this server's address in place of the cloud's: the session page."""
        if not session_id:
            return dash.error(request, visit, 400, "the link needs ?session_id=<session id>")
        target = f"/sessions/{quote(session_id, safe='')}"
        if wants_json(request):
            target += "?format=json"
        return dash.visits.finish(RedirectResponse(target, status_code=303), visit)

    @router.get("/sessions/{session_id}")
    def session_link(request: Request, session_id: str, visit: Visit = signed_in) -> Response:
        """The session_url the ingest API hands to clients: find the session's project."""
        project_id = dash.store.find_session_project(session_id)
        if project_id is None:
            return dash.error(request, visit, 404, f"session {session_id} not found")
        target = f"/projects/{project_id}/sessions/{session_id}"
        return dash.visits.finish(_forward(request, target), visit)

    @router.get("/projects/{project_id}/sessions/{session_id}")
    def session_page(
        request: Request, project_id: str, session_id: str, visit: Visit = signed_in
    ) -> Response:
        try:
            project = dash.project(project_id)
            payload = dq.session_detail(dash.store, project.id, session_id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc))
        return dash.page(request, visit, "session.html", payload, project=project, nav="sessions")

    @router.get("/projects/{project_id}/sessions/{session_id}/tree")
    def tree(
        request: Request,
        project_id: str,
        session_id: str,
        parent_id: Annotated[str | None, Query()] = None,
        cursor: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_TREE_PAGE)] = dq.TREE_PAGE,
        from_ms: Annotated[int | None, Query()] = None,
        visit: Visit = signed_in_api,
    ) -> Response:
        """A page of one level of the event tree: the children of `parent_id`, or without it
        the top level (with orphans). `from_ms` starts the first page at that moment, led by
        the level's events still running then (`running` says how many)."""
        try:
            dash.store.get_session(project_id, session_id)
            if from_ms is not None and not 0 <= from_ms <= LAST_MS:
                raise BadInput("from_ms must be epoch milliseconds")
            payload = dq.tree_level(
                dash.store, session_id, parent_id or None, cursor, limit, from_ms
            )
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc), api=True)
        except (BadInput, InvalidCursor) as exc:
            return dash.error(request, visit, 400, str(exc), api=True)
        return dash.visits.finish(json_response(payload), visit)

    @router.get("/projects/{project_id}/sessions/{session_id}/timeline")
    def timeline(
        request: Request,
        project_id: str,
        session_id: str,
        start_ms: Annotated[int, Query()],
        end_ms: Annotated[int, Query()],
        buckets: Annotated[int, Query(ge=1, le=2000)] = 200,
        visit: Visit = signed_in_api,
    ) -> Response:
        """Events per lane and time slice of [start_ms, end_ms): the zoomed-out waterfall."""
        try:
            dash.store.get_session(project_id, session_id)
            _check_window(start_ms, end_ms)
            payload = dq.event_density(dash.store, session_id, start_ms, end_ms, buckets)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc), api=True)
        except BadInput as exc:
            return dash.error(request, visit, 400, str(exc), api=True)
        return dash.visits.finish(json_response(payload), visit)

    @router.get("/projects/{project_id}/sessions/{session_id}/events")
    def events(
        request: Request,
        project_id: str,
        session_id: str,
        start_ms: Annotated[int, Query()],
        end_ms: Annotated[int, Query()],
        cursor: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_WINDOW_EVENTS)] = 200,
        running: Annotated[bool, Query()] = False,
        type: Annotated[str | None, Query(max_length=20)] = None,
        name: Annotated[str | None, Query(max_length=200)] = None,
        model: Annotated[str | None, Query(max_length=200)] = None,
        agent: Annotated[str | None, Query(max_length=200)] = None,
        visit: Visit = signed_in_api,
    ) -> Response:
        """Events starting in [start_ms, end_ms), time order, keyset pages, no payloads;
        `running=true` also gives, first, those still running when the window opens.
        `type`, `name`, `model` (parts, any case) and `agent` (an agent id) filter them."""
        try:
            dash.store.get_session(project_id, session_id)
            _check_window(start_ms, end_ms)
            match = event_match(type, name, model, agent)
            payload = dq.event_window(
                dash.store, session_id, start_ms, end_ms, cursor, limit, running, match
            )
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc), api=True)
        except (BadInput, InvalidCursor) as exc:
            return dash.error(request, visit, 400, str(exc), api=True)
        window = payload["data"]
        payload = {"data": window["events"], "next_cursor": window["next_cursor"]}
        return dash.visits.finish(json_response(payload), visit)

    @router.get("/projects/{project_id}/sessions/{session_id}/events/{event_id}")
    def event(
        request: Request,
        project_id: str,
        session_id: str,
        event_id: str,
        visit: Visit = signed_in_api,
    ) -> Response:
        """One event with its payload, for the inspector."""
        try:
            dash.store.get_session(project_id, session_id)
            payload = dq.event_detail(dash.store, session_id, event_id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc), api=True)
        return dash.visits.finish(json_response(payload), visit)

    @router.get("/projects/{project_id}/sessions/{session_id}/stats")
    def stats(
        request: Request,
        project_id: str,
        session_id: str,
        visit: Visit = signed_in_api,
    ) -> Response:
        """The same JSON as GET /v2/sessions/{id}/stats, for a signed-in browser."""
        try:
            payload = queries.get_stats(dash.store, project_id, session_id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc), api=True)
        return dash.visits.finish(json_response(payload), visit)

    @router.get("/projects/{project_id}/sessions/{session_id}/export")
    def export(
        request: Request,
        project_id: str,
        session_id: str,
        visit: Visit = signed_in_api,
    ) -> Response:
        """The same JSON as GET /v2/sessions/{id}/export, streamed, for a signed-in browser."""
        try:
            chunks = queries.export_session(dash.store, project_id, session_id)
        except NotFound as exc:
            return dash.error(request, visit, 404, str(exc), api=True)
        disposition = f'attachment; filename="session-{_file_part(session_id)}.json"'
        headers = {**SECURITY_HEADERS, "Content-Disposition": disposition}
        response = StreamingResponse(chunks, media_type="application/json", headers=headers)
        return dash.visits.finish(response, visit)


def _sessions_csv(
    dash: Dashboard,
    visit: Visit,
    project: Project,
    filters: SessionFilter,
    sort: SessionSort,
    cursor: str | None,
) -> Response:
    """The filtered list as a CSV download, every page from `cursor` on."""
    dq.list_sessions(dash.store, project.id, filters, sort, cursor, 1)  # a bad cursor: 400 now

    def read_page(after: str | None) -> dict[str, Any]:
        return dq.list_sessions(dash.store, project.id, filters, sort, after or cursor, 500)

    disposition = f'attachment; filename="sessions-{_file_part(project.name)}.csv"'
    headers = {**SECURITY_HEADERS, "Content-Disposition": disposition}
    response = StreamingResponse(
        session_csv(read_page), media_type="text/csv; charset=utf-8", headers=headers
    )
    return dash.visits.finish(response, visit)


def _file_part(text: str) -> str:
    """Text safe inside a download's file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:80].strip("-") or "export"


def _first_run(
    dash: Dashboard, request: Request, visit: Visit, project: Project
) -> Response | None:
    """For a project without any session: how to send it the first one (with the key just
    created for it, once). None when the project has sessions."""
    newest = SessionSort.NEWEST
    if dash.store.list_sessions_sorted(project.id, SessionFilter(), newest, None, 1).sessions:
        return None
    new_key = dash.notice.take(request, visit, project.id)
    response = dash.page(
        request,
        visit,
        "first_run.html",
        {"data": [], "next_cursor": None, "first_run": True},
        project=project,
        nav="sessions",
        new_key=new_key,
    )
    if new_key is not None:
        dash.notice.clear(response, project.id)
    return response


def event_match(
    event_type: str | None, name: str | None, model: str | None, agent: str | None
) -> EventMatch | None:
    """The session page's event filters; an unknown type is a client mistake (400)."""
    if event_type and event_type not in queries.EVENT_TYPES:
        options = ", ".join(queries.EVENT_TYPES)
        raise BadInput(f"type must be one of {options}, not {event_type[:20]!r}")
    for value in (name, model, agent):
        if value and "\x00" in value:
            raise BadInput("filters cannot hold NUL characters")
    match = EventMatch(event_type or None, name or None, model or None, agent or None)
    return None if match.is_empty() else match


def _sort(value: str | None) -> SessionSort:
    if not value:
        return SessionSort.NEWEST
    try:
        return SessionSort(value)
    except ValueError:
        options = ", ".join(s.value for s in SessionSort)
        raise BadInput(f"sort must be one of {options}, not {value[:40]!r}") from None


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadInput(f"{name} must be a whole number, not {value[:40]!r}") from None
    if not low <= number <= high:
        raise BadInput(f"{name} must be between {low} and {high}")
    return number


def _check_window(start_ms: int, end_ms: int) -> None:
    if not 0 <= start_ms < end_ms <= LAST_MS:
        raise BadInput("the window needs 0 <= start_ms < end_ms (epoch milliseconds)")


def _forward(request: Request, path: str) -> RedirectResponse:
    """Redirect to one of our own pages, keeping the query (e.g. ?format=json for twins)."""
    query = request.url.query
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _with_query(path: str, params: dict[str, str] | list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params)}" if params else path
