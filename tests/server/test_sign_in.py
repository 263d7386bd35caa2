"""Routes sign in through dependencies (api/deps.py, the dashboard's Dashboard.signed_in and
checked_post): a request without a credential is refused before its parameters or body are
read, with the same answer on every route of a kind."""

from __future__ import annotations

import pytest

from tests.server.conftest import LiveServer

ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"  # no such session, project, rule or key
BAD_QUERY = {"limit": "0", "start_ms": "x", "end_ms": "x", "buckets": "0", "from_ms": "x"}
"""Parameters no route takes as they are: the refusal comes first all the same."""
API_KEY_ROUTES = [
    ("GET", "/v2/sessions"),
    ("GET", f"/v2/sessions/{ID}/stats"),
    ("GET", f"/v2/sessions/{ID}/export"),
    ("POST", f"/v2/sessions/{ID}/ttd"),
    ("GET", "/v2/prices"),
    ("GET", "/v2/prices/gpt-4o"),
    ("PUT", "/v2/prices/gpt-4o"),
    ("DELETE", "/v2/prices/gpt-4o"),
    ("GET", "/v2/budget"),
    ("PUT", "/v2/budget"),
    ("DELETE", "/v2/budget"),
    ("GET", "/v2/alerts/rules"),
    ("POST", "/v2/alerts/rules"),
    ("DELETE", f"/v2/alerts/rules/{ID}"),
    ("GET", "/v2/alerts/history"),
]
PROJECT_ROUTES = [("POST", "/v4/objects/upload/"), ("GET", f"/v4/objects/{ID}")]
PAGES = [
    ("GET", "/"),
    ("GET", "/projects"),
    ("GET", f"/projects/{ID}"),
    ("GET", f"/projects/{ID}/sessions"),
    ("GET", "/sessions"),
    ("GET", f"/sessions/{ID}"),
    ("GET", f"/projects/{ID}/sessions/{ID}"),
    ("GET", f"/projects/{ID}/keys"),
    ("GET", f"/projects/{ID}/alerts"),
    ("GET", f"/projects/{ID}/budget"),
    ("POST", "/projects"),
    ("POST", f"/projects/{ID}/keys"),
    ("POST", f"/projects/{ID}/keys/{ID}/revoke"),
    ("POST", f"/projects/{ID}/alerts"),
    ("POST", f"/projects/{ID}/alerts/{ID}/remove"),
    ("POST", f"/projects/{ID}/budget"),
]
DASHBOARD_JSON = [
    ("GET", f"/projects/{ID}/sessions/{ID}/tree"),
    ("GET", f"/projects/{ID}/sessions/{ID}/timeline"),
    ("GET", f"/projects/{ID}/sessions/{ID}/events"),
    ("GET", f"/projects/{ID}/sessions/{ID}/events/{ID}"),
    ("GET", f"/projects/{ID}/sessions/{ID}/stats"),
    ("GET", f"/projects/{ID}/sessions/{ID}/export"),
]


@pytest.mark.parametrize(("method", "path"), API_KEY_ROUTES + PROJECT_ROUTES)
def test_api_routes_refuse_a_request_without_a_key_first(
    live: LiveServer, method: str, path: str
) -> None:
    res = live.client.request(method, live.url + path, params=BAD_QUERY, content=b"{")
    assert res.status_code == 401, res.text
    if (method, path) in API_KEY_ROUTES:
        message = "missing API key: send it in the X-Agentops-Api-Key header"
    else:
        message = "missing API key: send Authorization: Bearer <API key> or X-Agentops-Api-Key"
    assert res.json() == {
        "error": {"code": "missing_api_key", "message": message},
        "message": message,
    }


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_pages_send_a_visitor_who_is_not_signed_in_to_sign_in(
    live: LiveServer, method: str, path: str
) -> None:
    res = live.client.request(method, live.url + path, params=BAD_QUERY)
    assert res.status_code == 303, res.text
    assert res.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("method", "path"), DASHBOARD_JSON)
def test_dashboard_json_endpoints_answer_401_first(
    live: LiveServer, method: str, path: str
) -> None:
    res = live.client.request(method, live.url + path, params=BAD_QUERY)
    assert res.status_code == 401, res.text
    message = "sign in to the dashboard first"
    assert res.json() == {"error": {"code": "unauthorized", "message": message}}
