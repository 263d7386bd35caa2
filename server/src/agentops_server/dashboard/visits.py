"""Who is asking: the signed dashboard cookie, its account, and the CSRF check on writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from agentops_server.auth.cookies import (
    COOKIE_NAME,
    CSRF_FIELD,
    CSRF_HEADER,
    CookieSession,
    CookieSigner,
)
from agentops_server.storage.dashboard_records import User
from agentops_server.storage.store import NotFound

GetUser = Callable[[str], User]
"""Loads an account by id; raises storage NotFound."""
IsEnded = Callable[[str], bool]
"""Whether a sign-in (its cookie's session id) was ended by signing out."""


@dataclass(slots=True)
class Visit:
    """One request's dashboard session. `fresh` means the cookie must be (re)set."""

    session: CookieSession
    user: User | None
    csrf_token: str
    fresh: bool


class Visits:
    def __init__(self, signer: CookieSigner, *, secure: bool) -> None:
        self.signer = signer
        self.secure = secure

    def open(self, request: Request, get_user: GetUser, is_ended: IsEnded) -> Visit:
        """The visit of this request; a missing, forged, expired or signed-out cookie starts a
        new one."""
        found = self.signer.loads(request.cookies.get(COOKIE_NAME))
        if found is None:
            return self._new(None)
        user = None
        if found.user_id is not None:
            try:
                user = get_user(found.user_id)
            except NotFound:  # the account was removed: sign out
                return self._new(None)
            if found.stamp != self._stamp(user):  # new password, or signed out everywhere
                return self._new(None)
            if is_ended(found.session_id):  # this sign-in was signed out
                return self._new(None)
        return Visit(found, user, self.signer.csrf_token(found), fresh=False)

    def sign_in(self, user: User) -> Visit:
        """A new session id at sign-in, so a session planted before it is useless."""
        return self._new(user)

    def sign_out(self) -> Visit:
        return self._new(None)

    def csrf_ok(self, visit: Visit, form_token: str | None, request: Request) -> bool:
        token = form_token or request.headers.get(CSRF_HEADER)
        return self.signer.check_csrf(visit.session, token)

    def finish(self, response: Response, visit: Visit) -> Response:
        """Set the cookie on the response when the visit is new."""
        if visit.fresh:
            response.set_cookie(
                COOKIE_NAME,
                self.signer.dumps(visit.session),
                max_age=self.signer.max_age,
                httponly=True,
                samesite="lax",
                secure=self.secure,
                path="/",
            )
        return response

    def login_redirect(self, request: Request, visit: Visit) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return self.finish(response, visit)

    def _new(self, user: User | None) -> Visit:
        if user is None:
            session = self.signer.new_session(None)
        else:
            session = self.signer.new_session(user.id, self._stamp(user))
        return Visit(session, user, self.signer.csrf_token(session), fresh=True)

    def _stamp(self, user: User) -> str:
        return self.signer.stamp(user.password_hash, user.signin_generation)

    def expires_at(self, visit: Visit) -> datetime:
        """When this visit's cookie stops being accepted anyway."""
        return datetime.fromtimestamp(visit.session.issued_at + self.signer.max_age, UTC)


def safe_next(target: str | None) -> str:
    """Only same-site paths may follow sign-in (no //host, no scheme, no backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 32 for ch in target):
        return "/"
    return target


__all__ = ["CSRF_FIELD", "Visit", "Visits", "safe_next"]
