"""The dashboard's Budget page over real HTTP: the limits and the spend against them, the
notice that agentops 0.3 clients are only warned, setting and clearing limits (CSRF-checked),
and bad limits refused with a message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from agentops_server.auth.accounts import create_account
from tests.server.conftest import LiveServer, llm
from tests.support.dashboard import csrf_token

EMAIL, PASSWORD = "budget@example.com", "correct horse battery"


@pytest.fixture
def browser(live: LiveServer) -> Iterator[httpx.Client]:
    """Signed in; keeps cookies, does not follow redirects."""
    create_account(live.store, EMAIL, PASSWORD)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        token = csrf_token(client.get("/login").text)
        form = {"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/"}
        assert client.post("/login", data=form).status_code == 303
        yield client


def spend(live: LiveServer, calls: int) -> str:
    """`calls` LLM calls of today at $0.75 each; returns the session token."""
    _, jwt = live.start_session()
    stamp = datetime.now(UTC).isoformat()
    events = [
        llm(init_timestamp=stamp, end_timestamp=stamp, prompt_tokens=10**6, completion_tokens=10**6)
        for _ in range(calls)
    ]
    assert live.send_events(jwt, events).status_code == 200
    return jwt


def test_the_budget_page_sets_shows_and_clears_the_limits(
    live: LiveServer, browser: httpx.Client
) -> None:
    jwt = spend(live, 2)
    page_url = f"/projects/{live.project_id}/budget"
    page = browser.get(page_url)
    assert page.status_code == 200
    assert f'href="{page_url}"' in page.text  # in the project's navigation
    assert 'id="budget-notice-03"' in page.text
    assert "agentops 0.3 clients cannot be stopped" in page.text
    assert "no daily limit" in page.text and "no monthly limit" in page.text
    assert 'id="budget-reached"' not in page.text

    form = {"csrf_token": csrf_token(page.text), "daily_limit_usd": "1", "monthly_limit_usd": ""}
    saved = browser.post(page_url, data=form)
    assert saved.status_code == 303 and saved.headers["location"] == page_url
    page = browser.get(page_url)
    assert "of a daily limit of" in page.text and "no monthly limit" in page.text
    assert 'id="budget-reached"' in page.text
    assert "the project&#39;s daily budget of $1.00 is reached ($1.50 spent on" in page.text
    assert "agentops 0.3 clients cannot be stopped" in page.text
    twin = browser.get(page_url, params={"format": "json"}).json()["data"]
    assert twin["daily_limit_usd"] == "1" and twin["today"]["spent_usd"] == "1.5"
    assert twin["exceeded"] == ["daily"]
    # the server's own process signals it at once
    assert live.send_events(jwt, []).headers["X-AgentOps-Budget-Exceeded"] == "daily"

    form = {"csrf_token": csrf_token(page.text), "daily_limit_usd": "", "monthly_limit_usd": "50"}
    assert browser.post(page_url, data=form).status_code == 303
    twin = browser.get(page_url, params={"format": "json"}).json()["data"]
    assert twin["daily_limit_usd"] is None and twin["monthly_limit_usd"] == "50"
    assert twin["exceeded"] == []
    assert "X-AgentOps-Budget-Exceeded" not in live.send_events(jwt, []).headers


@pytest.mark.parametrize(
    ("daily", "problem"),
    [
        ("-3", "the daily limit must be more than 0 USD, got &#39;-3&#39;"),
        ("lots", "the daily limit must be an amount of USD like 10 or 12.50"),
    ],
)
def test_bad_limits_are_refused_with_a_message(
    live: LiveServer, browser: httpx.Client, daily: str, problem: str
) -> None:
    page_url = f"/projects/{live.project_id}/budget"
    token = csrf_token(browser.get(page_url).text)
    form = {"csrf_token": token, "daily_limit_usd": daily, "monthly_limit_usd": "10"}
    refused = browser.post(page_url, data=form)
    assert refused.status_code == 400 and problem in refused.text
    assert not live.store.get_budget(live.project_id).has_limit  # nothing was changed


def test_a_stale_form_changes_nothing(live: LiveServer, browser: httpx.Client) -> None:
    page_url = f"/projects/{live.project_id}/budget"
    form = {"csrf_token": "forged", "daily_limit_usd": "1"}
    assert browser.post(page_url, data=form).status_code == 403
    assert not live.store.get_budget(live.project_id).has_limit


def test_the_page_of_an_unknown_project_is_a_404(browser: httpx.Client) -> None:
    assert browser.get("/projects/nope/budget").status_code == 404
