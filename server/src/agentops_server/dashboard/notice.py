"""The new API key, shown once after the redirect that follows the POST creating it.

Every dashboard POST answers with a redirect, so a reload never repeats it. A new key's secret
must still reach the page after that redirect: it travels in a signed cookie bound to the
visit, scoped to the project's pages, living five minutes and cleared by the page that shows it.
"""

from __future__ import annotations

from typing import Final

from fastapi import Request
from fastapi.responses import Response

from agentops_server.auth.cookies import CookieSigner
from agentops_server.dashboard.visits import Visit

NOTICE_COOKIE: Final = "agentops_new_key"
NOTICE_SECONDS: Final = 300


class KeyNotice:
    def __init__(self, signer: CookieSigner, *, secure: bool) -> None:
        self.signer = signer
        self.secure = secure

    def attach(
        self, response: Response, visit: Visit, project_id: str, key: str, label: str
    ) -> None:
        """Make the next page of this project in this visit show `key` once."""
        sealed = self.signer.seal(
            {"sid": visit.session.session_id, "project": project_id, "key": key, "label": label}
        )
        response.set_cookie(
            NOTICE_COOKIE,
            sealed,
            max_age=NOTICE_SECONDS,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path=f"/projects/{project_id}",
        )

    def take(self, request: Request, visit: Visit, project_id: str) -> dict[str, str] | None:
        """The key to show on this page ({"key", "label"}), if this visit just created one."""
        found = self.signer.unseal(request.cookies.get(NOTICE_COOKIE), NOTICE_SECONDS)
        if found is None or found.get("project") != project_id:
            return None
        if found.get("sid") != visit.session.session_id:
            return None
        return {"key": found.get("key", ""), "label": found.get("label", "")}

    def clear(self, response: Response, project_id: str) -> None:
        response.delete_cookie(NOTICE_COOKIE, path=f"/projects/{project_id}")
