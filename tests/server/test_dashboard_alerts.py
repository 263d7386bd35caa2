"""The dashboard's alerts page over real HTTP: sign-in and CSRF on its forms, rules added and
removed, bad input refused with a message, another project's rule left alone, a JSON twin."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agentops_server.alerts.rules import parse_rule
from agentops_server.auth.accounts import create_account
from tests.server.conftest import LiveServer
from tests.support.dashboard import csrf_token

EMAIL, PASSWORD = "ops@example.com", "correct horse battery"
HOOK = "https://hooks.example.com/agentops"


@pytest.fixture
def browser(live: LiveServer) -> Iterator[httpx.Client]:
    """Signed in, keeps cookies, does not follow redirects."""
    create_account(live.store, EMAIL, PASSWORD)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        token = csrf_token(client.get("/login").text)
        signed = client.post(
            "/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/"}
        )
        assert signed.status_code == 303
        yield client


def test_rules_are_added_and_removed_with_the_forms(
    live: LiveServer, browser: httpx.Client
) -> None:
    page = f"/projects/{live.project_id}/alerts"
    html = browser.get(page).text
    assert "No rule yet." in html and 'href="' + page + '"' in html  # linked in the navigation
    token = csrf_token(html)
    form = {"csrf_token": token, "kind": "session_cost", "threshold": "3", "webhook_url": HOOK}
    added = browser.post(page, data=form)
    assert added.status_code == 303 and added.headers["location"] == page
    twin = browser.get(page, params={"format": "json"}).json()["data"]
    (rule,) = twin["rules"]
    assert (rule["kind"], rule["threshold"], rule["webhook_url"]) == ("session_cost", "3", HOOK)
    assert twin["history"] == []
    assert "a session&#39;s cost went over 3 USD" in browser.get(page).text

    removed = browser.post(f"{page}/{rule['id']}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert browser.get(page, params={"format": "json"}).json()["data"]["rules"] == []


def test_bad_input_and_missing_csrf_are_refused(live: LiveServer, browser: httpx.Client) -> None:
    page = f"/projects/{live.project_id}/alerts"
    token = csrf_token(browser.get(page).text)
    for form, message in [
        ({"kind": "session_cost", "threshold": "-2", "webhook_url": HOOK}, "positive number"),
        ({"kind": "nope", "webhook_url": HOOK}, "unknown kind"),
        ({"kind": "session_failed", "webhook_url": "javascript:alert(1)"}, "http:// or https://"),
        ({"kind": "error_rate", "threshold": "5", "window_minutes": "x", "webhook_url": HOOK},
         "not a whole number"),
    ]:  # fmt: skip
        refused = browser.post(page, data={"csrf_token": token, **form})
        assert refused.status_code == 400 and message in refused.text, form
    stale = browser.post(page, data={"kind": "session_failed", "webhook_url": HOOK})
    assert stale.status_code == 403
    assert live.store.list_alert_rules(live.project_id) == []
    signed_out = httpx.get(live.url + page, timeout=10)
    assert signed_out.status_code == 303 and "/login" in signed_out.headers["location"]


def test_a_rule_of_another_project_is_not_removed_from_this_one(
    live: LiveServer, browser: httpx.Client
) -> None:
    other = live.store.create_project("Other")
    theirs = live.store.create_alert_rule(parse_rule(other.id, "session_failed", None, HOOK))
    page = f"/projects/{live.project_id}/alerts"
    token = csrf_token(browser.get(page).text)
    refused = browser.post(f"{page}/{theirs.id}/remove", data={"csrf_token": token})
    assert refused.status_code == 404
    assert [r.id for r in live.store.list_alert_rules(other.id)] == [theirs.id]
    assert browser.get(page, params={"format": "json"}).json()["data"]["rules"] == []
