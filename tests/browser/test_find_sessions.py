"""Finding sessions in a real browser: full-text search over prompts, completions, tool
parameters and errors; several tags at once; model, end state, duration and metadata filters;
each row shows its models and input, and a click anywhere on it opens the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Seeded, shot, sign_in
from tests.browser.seed import seed_sessions
from tests.support.dashboard import FIRST_ADMIN_LOGIN, printed_admin_password
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("find") / "server").start()
    try:
        password = printed_admin_password(server)
        ids = seed_sessions(
            server,
            [
                {
                    "tags": ["prod", "research-agent"],
                    "prompts": ["Which spices grow on Zanzibar?"],
                    "end_state": "Success",
                },
                {
                    "tags": ["prod"],
                    "prompts": ["Plan a trip to Reykjavik"],
                    "end_state": "Fail",
                    "reason": "quota exhausted",
                    "error": True,
                },
                {"tags": ["research-agent"], "prompts": [], "end_state": "Indeterminate"},
            ],
        )
        yield Seeded(server, password, ids, "prod")
    finally:
        server.stop()


def _search(page: Any, seeded: Seeded, query: str) -> list[str]:
    """Open the sessions list with `query` and answer the ids of its rows."""
    page.goto(f"{seeded.server.url}{_list(page)}?{query}")
    page.wait_for_selector("#sessions tbody tr")
    rows = page.locator("#sessions tbody tr[data-session-id]")
    return [rows.nth(i).get_attribute("data-session-id") for i in range(rows.count())]


def _list(page: Any) -> str:
    path: str = page.evaluate("location.pathname")
    project = path.split("/projects/")[1].split("/")[0]
    return f"/projects/{project}/sessions"


def test_text_search_and_filters_return_what_they_must(found: Seeded, browser_page: Any) -> None:
    page = browser_page
    zanzibar, reykjavik, empty = found.session_ids
    sign_in(page, found)

    page.click("header nav >> text=Sessions")
    # the model filter suggests the exact names the project's calls reported
    suggested = page.locator("#known-models option")
    assert [suggested.nth(i).get_attribute("value") for i in range(suggested.count())] == [
        "gpt-4o-mini"
    ]
    assert page.locator("input[name=model]").get_attribute("list") == "known-models"
    page.fill("input[name=q]", "zanzibar spices")  # words of a prompt, any case and order
    page.click("#session-filters button[type=submit]")
    page.wait_for_url("**q=zanzibar**")
    rows = page.locator("#sessions tbody tr[data-session-id]")
    assert rows.count() == 1 and rows.first.get_attribute("data-session-id") == zanzibar
    assert "gpt-4o-mini" in rows.first.locator("td.who-what").inner_text()
    assert "Which spices grow on Zanzibar?" in rows.first.locator("td.preview").inner_text()
    shot(page, "find-01-text-search")

    assert _search(page, found, "q=answer") == [reykjavik, zanzibar]  # completions
    assert _search(page, found, "q=trip+reykjav") == [reykjavik]  # tool params, a prefix
    assert _search(page, found, "q=quota") == [reykjavik]  # the end reason
    assert _search(page, found, "q=ValueError") == [reykjavik]  # an error's type
    assert _search(page, found, "q=madagascar") == []
    assert _search(page, found, "tag=prod&tag=research-agent") == [zanzibar]  # all tags
    assert _search(page, found, "tags=research-agent,+prod") == [zanzibar]
    assert _search(page, found, "tag=research-agent") == [empty, zanzibar]
    assert _search(page, found, "model=gpt-4o-mini") == [reykjavik, zanzibar]
    assert _search(page, found, "model=gpt-4o-mini&end_state=Fail") == [reykjavik]
    everyone = [empty, reykjavik, zanzibar]  # newest first
    assert _search(page, found, "duration_min=0&duration_max=3600") == everyone
    assert _search(page, found, "duration_min=3600") == []
    assert _search(page, found, "meta=team%3Dblue") == []
    assert page.locator("input[name=meta]").input_value() == "team=blue"  # shown back
    shot(page, "find-02-filters")

    _search(page, found, "tag=prod&tag=research-agent")
    page.locator("#sessions tbody tr td.num").first.click()  # not a link: the row opens
    page.wait_for_url(f"**/sessions/{zanzibar}")


def test_bad_filters_are_refused_with_a_reason(found: Seeded) -> None:
    with httpx.Client(base_url=found.server.url) as client:
        login = client.get("/login").text
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        client.post(
            "/login",
            data={"csrf_token": token, "email": FIRST_ADMIN_LOGIN, "password": found.password},
        )
        project = client.get("/projects?format=json").json()["data"][0]["id"]
        base = f"/projects/{project}/sessions?format=json"
        for query, reason in (
            ("cost_min=lots", "cost_min must be a number"),
            ("duration_max=-1", "duration_max must be between"),
            ("meta=novalue", "key=value"),
            ("after=yesterday", "after must be an ISO 8601 time"),
            ("before=9999-12-31T23:59:59-14:00", "before is out of range"),
        ):
            answer = client.get(f"{base}&{query}")
            assert answer.status_code == 400, query
            assert reason in answer.json()["error"]["message"], query


def test_the_rest_listing_takes_several_tags_and_refuses_too_many(found: Seeded) -> None:
    headers = {"X-Agentops-Api-Key": found.server.api_key}
    url = f"{found.server.url}/v2/sessions"
    both = httpx.get(url, params=[("tag", "prod"), ("tag", "research-agent")], headers=headers)
    assert [s["id"] for s in both.json()["data"]] == [found.session_ids[0]]
    words = httpx.get(url, params={"text": "reykjavik", "model": "gpt-4o-mini"}, headers=headers)
    assert [s["id"] for s in words.json()["data"]] == [found.session_ids[1]]
    many = httpx.get(url, params=[("tag", f"t{i}") for i in range(11)], headers=headers)
    assert many.status_code == 422 and "at most 10 tags" in many.json()["error"]["message"]
