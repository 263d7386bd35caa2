"""What every dashboard route shares, built once per app by `dashboard_router`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from agentops_server.auth.cookies import CSRF_FIELD
from agentops_server.auth.signin_limit import SignInLimiter
from agentops_server.config import ServerConfig
from agentops_server.dashboard.notice import KeyNotice
from agentops_server.dashboard.render import (
    Renderer,
    StaticFiles,
    json_error,
    json_response,
    json_url,
    wants_json,
)
from agentops_server.dashboard.visits import Visit, Visits
from agentops_server.dashboard_queries import project_json
from agentops_server.storage.records import Project
from agentops_server.storage.store import Store


class BadInput(ValueError):
    """A query parameter or form field that cannot be used; the message says which and why."""


class Answered(Exception):
    """A request answered before its route runs, by a sign-in dependency (sign in first, a
    form that fails its CSRF check): the app sends `response` (see `send_answer`)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def send_answer(request: Request, exc: Exception) -> Response:
    """The app's handler of Answered."""
    assert isinstance(exc, Answered)
    return exc.response


@dataclass(frozen=True, slots=True)
class Posted:
    """A form sent by a signed-in visit that passed the CSRF check."""

    visit: Visit
    form: dict[str, str]


@dataclass
class Dashboard:
    config: ServerConfig
    store: Store
    visits: Visits
    notice: KeyNotice
    static: StaticFiles = field(default_factory=StaticFiles)
    signin_limit: SignInLimiter = field(default_factory=SignInLimiter)
    renderer: Renderer = field(init=False)

    def __post_init__(self) -> None:
        self.renderer = Renderer(self.static)

    def visit(self, request: Request) -> Visit:
        return self.visits.open(request, self.store.get_user, self.store.dashboard_session_ended)

    def page(
        self,
        request: Request,
        visit: Visit,
        template: str,
        payload: dict[str, Any],
        *,
        project: Project | None = None,
        nav: str = "",
        status: int = 200,
        twin: str | None = None,
        **extra: Any,
    ) -> Response:
        """The page, or its JSON twin (the same payload) when asked with ?format=json."""
        if wants_json(request):
            return self.visits.finish(json_response(payload, status), visit)
        context = {
            **payload,
            **extra,
            "user": visit.user,
            "csrf_token": visit.csrf_token,
            "project": None if project is None else project_json(project),
            "nav": nav,
            "json_url": twin or json_url(request),
            "flashes": extra.get("flashes", []),
            "base_url": self.config.base_url,
        }
        response = self.renderer.page(template, context, status)
        return self.visits.finish(response, visit)

    def error(
        self, request: Request, visit: Visit, status: int, message: str, *, api: bool = False
    ) -> Response:
        """An error page, or `{"error": {code, message}}` for JSON twins and endpoints."""
        titles = {400: "Bad request", 403: "Forbidden", 404: "Not found", 401: "Sign in first"}
        title = titles.get(status, "Error")
        if api or wants_json(request):
            code = title.lower().replace(" ", "_")
            return self.visits.finish(json_error(status, code, message), visit)
        context = {
            "status": status,
            "title": title,
            "message": message,
            "user": visit.user,
            "csrf_token": visit.csrf_token,
            "project": None,
            "nav": "",
            "json_url": None,
            "flashes": [],
        }
        return self.visits.finish(self.renderer.page("error.html", context, status), visit)

    def project(self, project_id: str) -> Project:
        return self.store.get_project(project_id)

    def signed_in(self, request: Request) -> Visit:
        """Dependency of the pages: the visit of a signed-in account, else (Answered) the
        redirect to the sign-in page, or a 401 for a JSON twin."""
        return self._signed_in(request, api=False)

    def signed_in_api(self, request: Request) -> Visit:
        """Dependency of the JSON endpoints: the signed-in visit, else (Answered) a 401."""
        return self._signed_in(request, api=True)

    def _signed_in(self, request: Request, *, api: bool) -> Visit:
        visit = self.visit(request)
        if visit.user is None:
            raise Answered(self.unauthenticated(request, visit, api=api))
        return visit

    async def checked_post(self, request: Request) -> Posted:
        """Dependency of the forms that write: the visit and its form, else (Answered) the
        answer refusing the write (not signed in; 403 for a failed CSRF check)."""
        visit = await run_in_threadpool(self.visit, request)
        if visit.user is None:  # before the body: an anonymous broken form is no 400
            raise Answered(self.unauthenticated(request, visit))
        raw = await request.form()
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        if not self.visits.csrf_ok(visit, form.get(CSRF_FIELD), request):
            message = "the form is stale or was not sent by this dashboard (CSRF check): reload it"
            raise Answered(self.error(request, visit, 403, message))
        return Posted(visit, form)

    def unauthenticated(self, request: Request, visit: Visit, *, api: bool = False) -> Response:
        """Pages redirect to the sign-in page; JSON twins and endpoints answer 401."""
        if api or wants_json(request):
            response = json_error(401, "unauthorized", "sign in to the dashboard first")
            return self.visits.finish(response, visit)
        return self.visits.login_redirect(request, visit)


def parse_day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{name} must be a date like 2026-11-21, got {value[:40]!r}") from None


def day_range(
    params: dict[str, str], *, default_days: int | None
) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    """[start, end) in UTC from `from`/`to` (days, both included) or `days` (the last N days),
    plus the form values to show back."""
    first, last = parse_day(params.get("from"), "from"), parse_day(params.get("to"), "to")
    days_raw = params.get("days")
    days: int
    if days_raw and not (first or last):
        try:
            days = int(days_raw)
        except ValueError:
            raise BadInput(f"days must be a whole number, got {days_raw[:20]!r}") from None
        if not 1 <= days <= 3660:
            raise BadInput("days must be between 1 and 3660")
    else:
        days = (default_days or 0) if not (first or last) else 0
    if days:
        last = datetime.now(UTC).date()
        first = last - timedelta(days=days - 1)
    if first and last and first > last:
        raise BadInput("the range ends before it starts: swap from and to")
    start = None if first is None else datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = None
    if last is not None and last < date.max:  # to=9999-12-31 has no next day: open-ended
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    form = {"from": first.isoformat() if first else "", "to": last.isoformat() if last else ""}
    return start, end, form
