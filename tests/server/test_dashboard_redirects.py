"""The dashboard's redirects keep the query, so a JSON twin (README: "Every page has a JSON
twin: add `?format=json`") survives `/` and the session_url `/sessions/{id}`."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.support.server import ServerProcess, cli


def _signed_in(server: ServerProcess) -> httpx.Client:
    email, password = "review-dash@example.com", "review-password-123"
    cli("users", "create", email, "--password", password, *server.db_args())
    client = httpx.Client(base_url=server.url, timeout=30)
    found = re.search(r'name="(csrf[^"]*)"\s+value="([^"]+)"', client.get("/login").text)
    assert found
    res = client.post(
        "/login", data={found.group(1): found.group(2), "email": email, "password": password}
    )
    assert res.status_code == 303, res.text[:300]
    return client


@pytest.mark.parametrize("page", ["/", "/sessions/{id}", "/drilldown?session_id={id}"])
def test_json_twin_survives_the_dashboards_redirects(server: ServerProcess, page: str) -> None:
    session_id = str(uuid.uuid4())
    res = httpx.post(
        f"{server.url}/v2/create_session",
        headers={"X-Agentops-Api-Key": server.api_key},
        json={"session": {"session_id": session_id}},
        timeout=30,
    )
    assert res.status_code == 200
    client = _signed_in(server)
    try:
        url = page.format(id=session_id)
        url += ("&" if "?" in url else "?") + "format=json"
        answer = client.get(url, follow_redirects=True)
    finally:
        client.close()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json"), answer.text[:200]


def test_drilldown_link_of_an_unknown_session_or_without_id_says_so(server: ServerProcess) -> None:
    client = _signed_in(server)
    try:
        unknown = client.get(f"/drilldown?session_id={uuid.uuid4()}", follow_redirects=True)
        bare = client.get("/drilldown")
    finally:
        client.close()
    assert unknown.status_code == 404 and "not found" in unknown.text
    assert bare.status_code == 400 and "session_id" in bare.text
