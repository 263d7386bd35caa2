"""The link agentops 0.4 prints, `{app_url}/sessions?trace_id=<32 hex>`, over real HTTP: it
leads to the session whose id is that trace id, through sign-in when needed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from agentops_server.auth.accounts import create_account
from tests.server.conftest import LiveServer
from tests.support.dashboard import csrf_token

EMAIL, PASSWORD = "trace@example.com", "correct horse battery"


@pytest.fixture
def anonymous(live: LiveServer) -> Iterator[httpx.Client]:
    """A browser-like client (cookies, no redirects followed) with an account to sign in to."""
    create_account(live.store, EMAIL, PASSWORD)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def test_the_trace_link_of_agentops_0_4_leads_to_its_session(
    live: LiveServer, anonymous: httpx.Client
) -> None:
    session_id, _ = live.start_session()
    trace_id = uuid.UUID(session_id).hex
    link = f"/sessions?trace_id={trace_id}"
    # signed out: sign in first, then come back to the link
    first = anonymous.get(link)
    assert first.status_code == 303
    assert first.headers["location"] == f"/login?next={quote(link, safe='')}"
    token = csrf_token(anonymous.get(first.headers["location"]).text)
    signed = anonymous.post(
        "/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": link}
    )
    assert signed.headers["location"] == link
    found = anonymous.get(link)
    assert (found.status_code, found.headers["location"]) == (303, f"/sessions/{session_id}")
    page = anonymous.get(f"/sessions?trace_id={trace_id.upper()}", follow_redirects=True)
    assert page.status_code == 200 and str(page.url).endswith(
        f"/projects/{live.project_id}/sessions/{session_id}"
    )
    twin = anonymous.get(f"{link}&format=json", follow_redirects=True)
    assert twin.json()["data"]["session"]["id"] == session_id

    for bad in [trace_id[:-1], trace_id + "0", "z" * 32, session_id, ""]:
        refused = anonymous.get("/sessions", params={"trace_id": bad})
        assert refused.status_code == 400, bad
        assert "trace_id must be 32 hexadecimal digits" in refused.text, bad
    as_json = anonymous.get("/sessions", params={"trace_id": "nope", "format": "json"})
    assert as_json.status_code == 400 and as_json.json()["error"]["code"] == "bad_request"
    unknown = anonymous.get(f"/sessions?trace_id={uuid.uuid4().hex}", follow_redirects=True)
    assert unknown.status_code == 404 and "not found" in unknown.text
    # without a trace id, the address is the sessions list
    plain = anonymous.get("/sessions")
    assert plain.headers["location"] == f"/projects/{live.project_id}/sessions"
