"""Dashboard helpers for tests: the first admin's password, and signing in over HTTP."""

from __future__ import annotations

import re
import time

import httpx

from tests.support.server import ServerProcess

FIRST_ADMIN_LOGIN = "admin"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def printed_admin_password(server: ServerProcess, timeout: float = 10.0) -> str:
    """The dashboard admin password that `agentops serve` printed on its first start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = server.log().splitlines()
        for i, line in enumerate(lines):
            if f"sign in as '{FIRST_ADMIN_LOGIN}'" in line:
                for candidate in lines[i + 1 : i + 5]:
                    if candidate.startswith("    ") and candidate.strip():
                        return candidate.strip()
        time.sleep(0.05)
    raise AssertionError(f"no admin password in the server output:\n{server.log()}")


def csrf_token(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


def signed_in_client(server: ServerProcess, password: str) -> httpx.Client:
    """An HTTP client holding a dashboard session cookie of the admin."""
    client = httpx.Client(base_url=server.url, timeout=30)
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": FIRST_ADMIN_LOGIN, "password": password, "next": "/"},
    )
    assert response.status_code == 303, response.text
    return client
