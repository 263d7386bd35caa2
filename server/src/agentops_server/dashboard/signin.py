"""Sign-in and sign-out. All are CSRF-checked POSTs; signing in starts a new session id, and
signing out ends that sign-in on the server (or, "everywhere", every sign-in of the account).

Failed sign-ins are limited per client address and per login (auth/signin_limit.py): past the
limit the form answers 429 with Retry-After and does not check the password.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from agentops_server.auth.accounts import authenticate
from agentops_server.auth.cookies import CSRF_FIELD
from agentops_server.dashboard.context import Dashboard
from agentops_server.dashboard.visits import Visit, safe_next


def add_signin_routes(router: APIRouter, dash: Dashboard) -> None:
    @router.get("/login")
    def login_form(request: Request) -> Response:
        visit = dash.visit(request)
        target = safe_next(request.query_params.get("next"))
        if visit.user is not None:
            return dash.visits.finish(RedirectResponse(target, status_code=303), visit)
        return _form(dash, request, visit, target, "", None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        visit = await run_in_threadpool(dash.visit, request)
        raw = await request.form()
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        target = safe_next(form.get("next"))
        email = form.get("email", "")
        if not dash.visits.csrf_ok(visit, form.get(CSRF_FIELD), request):
            message = "The sign-in form expired or did not come from this server: try again."
            fresh = dash.visits.sign_out()
            return _form(dash, request, fresh, target, email, message, status=403)
        address = request.client.host if request.client else "unknown"
        wait = dash.signin_limit.attempt(address, email)  # counted as a failure until it succeeds
        if wait is not None:
            return _too_many(dash, request, visit, target, email, wait)
        user = await run_in_threadpool(authenticate, dash.store, email, form.get("password", ""))
        if user is None:
            return _form(dash, request, visit, target, email, "Wrong email or password.", 401)
        dash.signin_limit.succeeded(address, email)
        signed_in = dash.visits.sign_in(user)
        return dash.visits.finish(RedirectResponse(target, status_code=303), signed_in)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """End this sign-in on the server too: its cookie is refused from now on."""
        return await _sign_out(dash, request, everywhere=False)

    @router.post("/logout/everywhere")
    async def logout_everywhere(request: Request) -> Response:
        """End every sign-in of this account, in every browser."""
        return await _sign_out(dash, request, everywhere=True)


async def _sign_out(dash: Dashboard, request: Request, *, everywhere: bool) -> Response:
    visit = await run_in_threadpool(dash.visit, request)
    raw = await request.form()
    token = raw.get(CSRF_FIELD)
    if not dash.visits.csrf_ok(visit, token if isinstance(token, str) else None, request):
        message = "the sign-out form is stale (CSRF check): reload the page and try again"
        return dash.error(request, visit, 403, message)
    if visit.user is not None:
        expires_at = dash.visits.expires_at(visit)
        await run_in_threadpool(
            dash.store.end_dashboard_session, visit.session.session_id, expires_at
        )
        if everywhere:
            await run_in_threadpool(dash.store.end_all_dashboard_sessions, visit.user.id)
    response = RedirectResponse("/login", status_code=303)
    return dash.visits.finish(response, dash.visits.sign_out())


def _too_many(
    dash: Dashboard, request: Request, visit: Visit, target: str, email: str, wait: int
) -> Response:
    """429 without checking the password, so guessing goes no faster than the limit."""
    limit = dash.signin_limit
    minutes = max(1, math.ceil(wait / 60))
    message = (
        f"Too many failed sign-ins from this address or for this login ({limit.max_failures} "
        f"within {round(limit.window / 60)} minutes). Try again in {minutes} minute"
        f"{'s' if minutes != 1 else ''}."
    )
    response = _form(dash, request, visit, target, email, message, 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _form(
    dash: Dashboard,
    request: Request,
    visit: Visit,
    target: str,
    email: str,
    error: str | None,
    status: int = 200,
) -> Response:
    context: dict[str, object] = {
        "user": None,
        "csrf_token": visit.csrf_token,
        "project": None,
        "nav": "",
        "json_url": None,
        "flashes": [],
        "next_url": target,
        "email": email,
        "error": error,
    }
    return dash.visits.finish(dash.renderer.page("login.html", context, status), visit)
