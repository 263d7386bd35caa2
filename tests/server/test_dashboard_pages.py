"""The dashboard's second generation over real HTTP: a redirect after every write (a reload
never creates a second key), the first-run page of an empty project, CSV and download exports,
running sessions, the session page's event filters, rounded costs and the favicon."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from agentops_server.auth.accounts import create_account
from agentops_server.dashboard.csv_export import cell
from agentops_server.dashboard.notice import NOTICE_COOKIE
from agentops_server.dashboard.render import format_usd, round_usd
from tests.server.conftest import LiveServer, error, llm, tool
from tests.support.dashboard import csrf_token

EMAIL, PASSWORD = "pages@example.com", "correct horse battery"
NEW_KEY = re.compile(r'id="new-key" class="key-new">([0-9a-f-]{36})<')


@pytest.fixture
def browser(live: LiveServer) -> Iterator[httpx.Client]:
    """Signed in; keeps cookies, does not follow redirects."""
    create_account(live.store, EMAIL, PASSWORD)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        token = csrf_token(client.get("/login").text)
        form = {"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/"}
        assert client.post("/login", data=form).status_code == 303
        yield client


def active_keys(live: LiveServer, project_id: str) -> int:
    return sum(1 for k in live.store.list_api_keys(project_id) if k.revoked_at is None)


def ended(live: LiveServer, jwt: str, session_id: str, reason: str) -> None:
    session = {
        "session_id": session_id,
        "init_timestamp": "2026-11-21T12:36:31.832889+00:00",
        "end_timestamp": "2026-11-21T12:37:00+00:00",
        "end_state": "Fail",
        "end_state_reason": reason,
        "tags": ["t-default"],
    }
    done = live.post("/v2/update_session", {"session": session}, headers=live.auth(jwt))
    assert done.status_code == 200, done.text


def test_creating_a_key_redirects_and_shows_it_once(
    live: LiveServer, browser: httpx.Client
) -> None:
    keys = f"/projects/{live.project_id}/keys"
    token = csrf_token(browser.get(keys).text)
    before = active_keys(live, live.project_id)
    created = browser.post(keys, data={"csrf_token": token, "label": "ci"})
    assert created.status_code == 303 and created.headers["location"] == keys
    page = browser.get(keys)
    found = NEW_KEY.search(page.text)
    assert found is not None
    assert f'agentops.init(api_key="{found.group(1)}"' in page.text  # the two lines, filled in
    assert live.get("/v2/sessions", headers=live.key_headers(found.group(1))).status_code == 200
    # a reload is a GET: no second key, and the secret is not shown again
    again = browser.get(keys)
    assert NEW_KEY.search(again.text) is None
    assert active_keys(live, live.project_id) == before + 1


def test_the_new_key_notice_is_signed_and_bound_to_the_visit(
    live: LiveServer, browser: httpx.Client
) -> None:
    keys = f"/projects/{live.project_id}/keys"
    token = csrf_token(browser.get(keys).text)
    created = browser.post(keys, data={"csrf_token": token, "label": "ci"})
    sealed = created.cookies[NOTICE_COOKIE]
    # forged: refused
    browser.cookies.set(NOTICE_COOKIE, sealed[:-4] + "AAAA", path=f"/projects/{live.project_id}")
    assert NEW_KEY.search(browser.get(keys).text) is None
    # the genuine notice in another signed-in browser: refused too
    with httpx.Client(base_url=live.url, timeout=30) as other:
        token = csrf_token(other.get("/login").text)
        form = {"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/"}
        assert other.post("/login", data=form).status_code == 303
        other.cookies.set(NOTICE_COOKIE, sealed, path=f"/projects/{live.project_id}")
        assert NEW_KEY.search(other.get(keys).text) is None


def test_an_empty_project_opens_on_its_first_run_page(
    live: LiveServer, browser: httpx.Client
) -> None:
    token = csrf_token(browser.get("/projects").text)
    created = browser.post("/projects", data={"csrf_token": token, "name": "Fresh"})
    assert created.status_code == 303
    project = next(p for p in live.store.list_projects() if p.name == "Fresh")
    browser.get(created.headers["location"])  # shows (and spends) the project's first key
    for path in (f"/projects/{project.id}", f"/projects/{project.id}/sessions"):
        page = browser.get(path)
        assert page.status_code == 200
        assert 'id="first-run"' in page.text and "No session matches" not in page.text
        assert "import agentops\nagentops.init(api_key=" in page.text
        # the install line names a client that honours `endpoint`, never upstream's newest
        assert "pip install ./sdk" in page.text and "agentops==0.3.26" in page.text
        assert "<code>pip install agentops</code>: that installs upstream" in page.text
    # "Create a key for these lines" comes back to the same page with the key in the lines
    form = {"csrf_token": token, "label": "first run", "then": "start"}
    made = browser.post(f"/projects/{project.id}/keys", data=form)
    assert made.status_code == 303
    assert made.headers["location"] == f"/projects/{project.id}/sessions"
    page = browser.get(made.headers["location"])
    key = NEW_KEY.search(page.text) or re.search(r'api_key="([0-9a-f-]{36})"', page.text)
    assert key is not None and 'id="first-run-key"' in page.text
    # a filter on the empty project is a filter, not the first run
    filtered = browser.get(f"/projects/{project.id}/sessions?tag=x")
    assert "first-run" not in filtered.text and "No session matches" in filtered.text
    # a project with sessions shows them
    live.start_session()
    assert 'id="first-run"' not in browser.get(f"/projects/{live.project_id}/sessions").text


def test_the_sessions_list_downloads_as_csv(live: LiveServer, browser: httpx.Client) -> None:
    ids = []
    for tags in (["alpha", "=HYPERLINK(1)"], ["alpha"], ["beta"]):
        session_id, jwt = live.start_session(tags=tags)
        assert live.send_events(jwt, [llm(), tool()]).status_code == 200
        ids.append(session_id)
    base = f"/projects/{live.project_id}/sessions"
    page = browser.get(f"{base}?tag=alpha")
    assert 'id="csv-link" href="/projects/' in page.text and "format=csv" in page.text
    # limit=1: the download still holds every page of the list
    got = browser.get(f"{base}?tag=alpha&format=csv&limit=1")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert sorted(r["id"] for r in rows) == sorted(ids[:2])
    first = next(r for r in rows if r["id"] == ids[0])
    assert first["tags"] == "alpha;'=HYPERLINK(1)" or first["tags"] == "alpha;=HYPERLINK(1)"
    assert first["llm_calls"] == "1" and first["tool_calls"] == "1"
    assert first["cost_usd"] == "0.000045" and first["end_state"] == "Running"
    assert browser.get(f"{base}?format=csv&cursor=nope").status_code == 400


def test_csv_cells_never_become_formulas() -> None:
    assert cell("=SUM(A1)") == "'=SUM(A1)"
    assert cell("@cmd") == "'@cmd"
    assert cell("-1.5") == "-1.5"  # a number stays a number
    assert cell(None) == "" and cell(3) == "3"


def test_the_export_is_a_download(live: LiveServer, browser: httpx.Client) -> None:
    session_id, jwt = live.start_session()
    assert live.send_events(jwt, [llm()]).status_code == 200
    got = browser.get(f"/projects/{live.project_id}/sessions/{session_id}/export")
    assert got.status_code == 200
    disposition = got.headers["content-disposition"]
    assert disposition == f'attachment; filename="session-{session_id}.json"'
    assert session_id in got.text and got.json()


def test_a_session_without_an_end_is_running(live: LiveServer, browser: httpx.Client) -> None:
    session_id, jwt = live.start_session()
    assert live.send_events(jwt, [llm()]).status_code == 200
    base = f"/projects/{live.project_id}/sessions"
    [row] = browser.get(f"{base}?format=json").json()["data"]
    assert row["running"] is True
    page = browser.get(f"{base}/{session_id}").text
    assert 'id="session-state">Running<' in page and 'data-running="true"' in page
    assert "Running</span>" in browser.get(base).text
    reason = "Traceback (most recent call last):\n  File x\nKeyError: 'k'"
    ended(live, jwt, session_id, reason)
    page = browser.get(f"{base}/{session_id}").text
    assert 'data-running="false"' in page and 'id="session-state">Fail<' in page
    assert "KeyError: &#39;k&#39;" in page and "call last):\n  File x\n" in page  # lines kept


def event_page(browser: httpx.Client, live: LiveServer, session_id: str, **params: Any) -> Any:
    query = {"start_ms": 0, "end_ms": 99_999_999_999_999, **params}
    url = f"/projects/{live.project_id}/sessions/{session_id}/events"
    return browser.get(url, params=query)


def test_the_event_list_filters_by_type_name_model_and_agent(
    live: LiveServer, browser: httpx.Client
) -> None:
    session_id, jwt = live.start_session()
    events = [
        llm(model="gpt-4o-mini"),
        llm(model="claude-3-5-sonnet", init_timestamp="2026-11-21T12:36:33.5+00:00"),
        tool(name="web_search"),
        tool(name="Web_Fetch_100%", init_timestamp="2026-11-21T12:36:34.2+00:00"),
        error(error_type="KeyError"),
    ]
    assert live.send_events(jwt, events).status_code == 200

    def ids(**params: Any) -> list[str]:
        got = event_page(browser, live, session_id, **params)
        assert got.status_code == 200, got.text
        return [e["id"] for e in got.json()["data"]]

    assert ids(type="errors") == [events[4]["id"]]
    assert ids(type="llms") == [events[0]["id"], events[1]["id"]]
    assert ids(model="CLAUDE") == [events[1]["id"]]
    assert ids(name="web_") == [events[2]["id"], events[3]["id"]]  # any case
    assert ids(name="100%") == [events[3]["id"]]  # % is a character, not a wildcard
    assert ids(name="_fetch") == [events[3]["id"]]
    assert ids(type="tools", name="search") == [events[2]["id"]]
    assert ids(agent="no-such-agent") == []
    assert len(ids()) == 5
    for bad in ({"type": "nope"}, {"name": "a\x00b"}):
        got = event_page(browser, live, session_id, **bad)
        assert got.status_code == 400 and got.json()["error"]["code"] == "bad_request"


def test_costs_show_four_significant_digits_with_the_exact_amount_on_hover() -> None:
    assert round_usd(Decimal("0.000045123")) == "$0.00004512"
    assert round_usd(Decimal("12.3456")) == "$12.35"
    assert round_usd(Decimal("0.12345678")) == "$0.1235"
    assert round_usd(Decimal("2")) == "$2.00"
    assert round_usd(Decimal("0")) == "$0.00"
    assert round_usd(Decimal("4321.7")) == "$4,322"
    shown = str(format_usd("0.123456789"))
    assert shown == '<span class="usd" title="$0.123456789">$0.1235</span>'
    assert str(format_usd(None)) == "unknown"


def test_the_favicon(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        found = client.get("/favicon.ico")
        assert found.status_code == 301
        icon = client.get(found.headers["location"])
        assert icon.status_code == 200
        assert icon.headers["content-type"] == "image/svg+xml"
        assert icon.text.startswith("<svg")
        page = client.get("/login").text
        assert 'rel="icon" type="image/svg+xml" href="/static/favicon.svg?v=' in page


def test_a_session_on_the_calendars_last_day_leaves_the_overview_working(
    live: LiveServer, browser: httpx.Client
) -> None:
    """Clients choose their timestamps: a session started at 9999-12-31T23:59:59Z is stored,
    and the overview's last day (and hour) has no next one to end at (it was a 500)."""
    session_id, jwt = live.start_session(init_timestamp="9999-12-31T23:59:59Z")
    assert live.send_events(jwt, [llm(init_timestamp="9999-12-31T23:59:59Z")]).status_code == 200
    overview = f"/projects/{live.project_id}"
    for params in ({"from": "2026-01-01"}, {"to": "9999-12-31"}, {"from": "9999-12-31"}):
        got = browser.get(overview, params={**params, "format": "json"})
        assert got.status_code == 200, (params, got.text)
        [last] = [p for p in got.json()["data"]["points"] if p["sessions"]]
        assert last["start"].startswith("9999-12-31T") and last["end"].startswith(
            "9999-12-31T23:59:59"
        )
        assert browser.get(overview, params=params).status_code == 200
