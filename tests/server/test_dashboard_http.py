"""The dashboard over real HTTP: sign-in required, CSRF on every write, JSON twins that carry
the same data as the pages, and security headers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from agentops_server.auth.accounts import create_account, set_password
from tests.server.conftest import LiveServer, error, llm, tool
from tests.support.dashboard import csrf_token, printed_admin_password, signed_in_client
from tests.support.server import ServerProcess

EMAIL, PASSWORD = "ops@example.com", "correct horse battery"


@pytest.fixture
def browser(live: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client that behaves like a browser: keeps cookies, does not follow redirects."""
    create_account(live.store, EMAIL, PASSWORD)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def sign_in(client: httpx.Client, email: str = EMAIL, password: str = PASSWORD) -> httpx.Response:
    token = csrf_token(client.get("/login").text)
    return client.post(
        "/login", data={"csrf_token": token, "email": email, "password": password, "next": "/"}
    )


def seeded_session(live: LiveServer) -> str:
    session_id, jwt = live.start_session(tags=["alpha", "<b>t</b>"])
    response = live.send_events(jwt, [llm(), tool(), error(error_type="KeyError")])
    assert response.status_code == 200, response.text
    return session_id


def test_pages_redirect_to_sign_in_and_json_answers_401(
    live: LiveServer, browser: httpx.Client
) -> None:
    session_id = seeded_session(live)
    base = f"/projects/{live.project_id}"
    for path in ["/", "/projects", base, f"{base}/sessions", f"{base}/sessions/{session_id}"]:
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    for path in [
        f"{base}?format=json",
        f"{base}/sessions?format=json",
        f"{base}/sessions/{session_id}/events?start_ms=0&end_ms=99999999999999",
        f"{base}/sessions/{session_id}/export",
    ]:
        response = browser.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"
    # an API key is not a dashboard session
    assert browser.get(f"{base}?format=json", headers=live.key_headers()).status_code == 401


def test_sign_in_sets_a_protected_cookie_and_returns_to_the_page(
    live: LiveServer, browser: httpx.Client
) -> None:
    assert sign_in(browser, password="wrong password").status_code == 401
    assert browser.get("/projects").status_code == 303  # still signed out
    response = sign_in(browser, email="  OPS@example.com ")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert browser.get("/projects").status_code == 200
    # `next` only ever points into this site
    token = csrf_token(browser.get("/projects").text)
    browser.post("/logout", data={"csrf_token": token})
    token = csrf_token(browser.get("/login").text)
    response = browser.post(
        "/login",
        data={
            "csrf_token": token,
            "email": EMAIL,
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/"


def test_every_write_needs_the_csrf_token(live: LiveServer, browser: httpx.Client) -> None:
    token = csrf_token(browser.get("/login").text)
    refused = browser.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 403
    forged = browser.post(
        "/login", data={"csrf_token": token + "x", "email": EMAIL, "password": PASSWORD}
    )
    assert forged.status_code == 403
    assert sign_in(browser).status_code == 303
    before = len(live.store.list_projects())
    assert browser.post("/projects", data={"name": "No token"}).status_code == 403
    assert browser.post("/projects", data={"name": "Old", "csrf_token": token}).status_code == 403
    assert browser.post("/logout").status_code == 403
    assert len(live.store.list_projects()) == before
    keys = live.store.list_api_keys(live.project_id)
    revoke = f"/projects/{live.project_id}/keys/{keys[0].id}/revoke"
    assert browser.post(revoke, data={}).status_code == 403
    assert live.store.list_api_keys(live.project_id)[0].revoked_at is None

    token = csrf_token(browser.get("/projects").text)
    created = browser.post("/projects", data={"name": "Made here", "csrf_token": token})
    assert created.status_code == 303  # a redirect: reloading the next page posts nothing
    shown = browser.get(created.headers["location"])
    assert shown.status_code == 200
    key = re.search(r'id="new-key" class="key-new">([0-9a-f-]{36})<', shown.text)
    assert key is not None
    assert live.get("/v2/sessions", headers=live.key_headers(key.group(1))).status_code == 200
    assert browser.post(revoke, data={"csrf_token": token}).status_code == 303
    assert live.store.list_api_keys(live.project_id)[0].revoked_at is not None
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
    assert browser.get("/projects").status_code == 303


def test_json_twins_carry_what_the_pages_show(live: LiveServer, browser: httpx.Client) -> None:
    session_id = seeded_session(live)
    assert sign_in(browser).status_code == 303
    base = f"/projects/{live.project_id}"

    page = browser.get(f"{base}/sessions?tag=alpha")
    assert page.status_code == 200
    assert f'href="{base}/sessions?tag=alpha&amp;format=json"' in page.text
    assert "&lt;b&gt;t&lt;/b&gt;" in page.text and "<b>t</b>" not in page.text
    twin = browser.get(f"{base}/sessions?tag=alpha&format=json").json()
    [row] = twin["data"]
    assert twin["next_cursor"] is None
    assert row["id"] == session_id and row["tags"] == ["alpha", "<b>t</b>"]
    assert row["stats"]["event_counts"] == {"llms": 1, "tools": 1, "actions": 0, "errors": 1}
    assert row["stats"]["cost"] == "0.000045"  # gpt-4o-mini, 100 in / 50 out
    assert session_id in page.text

    detail = browser.get(f"{base}/sessions/{session_id}?format=json").json()["data"]
    assert detail["session"]["id"] == session_id
    tree = detail["tree"]["data"]  # v2 events without parent ids: one flat level
    assert [e["event_type"] for e in tree] == ["llms", "tools", "errors"]
    assert {(e["parent_id"], e["child_count"], e["orphan"]) for e in tree} == {(None, 0, False)}
    timeline = detail["timeline"]
    window = f"start_ms={timeline['start_ms']}&end_ms={timeline['end_ms']}"
    density = browser.get(f"{base}/sessions/{session_id}/timeline?{window}&buckets=4").json()
    assert density["data"]["total"] == 3
    llm_id = tree[0]["id"]
    event = browser.get(f"{base}/sessions/{session_id}/events/{llm_id}").json()["data"]
    assert event["prompt"]["messages"][0]["content"] == "hi"
    assert (event["cost"], event["cost_source"]) == ("0.000045", "computed")

    overview = browser.get(f"{base}?format=json&days=3650").json()["data"]
    assert overview["totals"]["sessions"] == 1 and overview["totals"]["errors"] == 1
    assert overview["models"][0]["model"] == "gpt-4o-mini"
    exported = browser.get(f"{base}/sessions/{session_id}/export").json()
    assert exported == live.get(f"/v2/sessions/{session_id}/export").json()
    stats = browser.get(f"{base}/sessions/{session_id}/stats").json()
    assert stats == live.stats(session_id)


def test_bad_input_gets_a_clear_answer(live: LiveServer, browser: httpx.Client) -> None:
    session_id = seeded_session(live)
    assert sign_in(browser).status_code == 303
    base = f"/projects/{live.project_id}"
    cases = {
        f"{base}/sessions?sort=random&format=json": "sort must be one of",
        f"{base}/sessions?cursor=bogus&format=json": "invalid cursor",
        f"{base}/sessions?from=yesterday&format=json": "from must be a date",
        f"{base}/sessions?end_state=Maybe&format=json": "end state must be",
        f"{base}/sessions/{session_id}/events?start_ms=5&end_ms=1": "start_ms < end_ms",
    }
    for path, message in cases.items():
        response = browser.get(path)
        assert response.status_code == 400, path
        assert message in response.json()["error"]["message"], path
    assert browser.get(f"{base}/sessions/nope").status_code == 404
    missing = browser.get(f"{base}/sessions/{session_id}/events/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    assert browser.get("/projects/nope/sessions").status_code == 404
    other = live.store.create_project("Other")
    # a session is only reachable under its own project
    assert browser.get(f"/projects/{other.id}/sessions/{session_id}").status_code == 404
    assert browser.get(f"/sessions/{session_id}").headers["location"] == (
        f"{base}/sessions/{session_id}"
    )
    token = csrf_token(browser.get("/projects").text)
    taken = browser.post("/projects", data={"name": "Other", "csrf_token": token})
    assert taken.status_code == 409 and "a project named" in taken.text


def test_security_headers_on_pages_and_static_files(
    live: LiveServer, browser: httpx.Client
) -> None:
    page = browser.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    script = re.search(r'src="(/static/[^"]+)"', browser.get("/login").text)
    assert script is None  # the sign-in page needs no script at all
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', page.text)
    assert css is not None
    static = browser.get(css.group(1))
    assert static.status_code == 200 and static.headers["content-type"].startswith("text/css")
    assert browser.get("/static/../app.py").status_code == 404


def test_a_new_password_signs_out_every_browser(live: LiveServer, browser: httpx.Client) -> None:
    assert sign_in(browser).status_code == 303
    assert browser.get("/projects").status_code == 200
    set_password(live.store, EMAIL, "a brand new password")
    assert browser.get("/projects").status_code == 303
    assert sign_in(browser, password="a brand new password").status_code == 303
    assert browser.get("/projects").status_code == 200


def test_sign_out_ends_that_sign_in_on_the_server(live: LiveServer, browser: httpx.Client) -> None:
    """A copied cookie is useless after sign-out: the server refuses it, not only the browser."""
    assert sign_in(browser).status_code == 303
    stolen = browser.cookies["agentops_session"]
    with httpx.Client(base_url=live.url, timeout=30) as other:
        assert sign_in(other).status_code == 303  # the same account in another browser
        token = csrf_token(browser.get("/projects").text)
        assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
        replay = httpx.get(f"{live.url}/projects", cookies={"agentops_session": stolen})
        assert replay.status_code == 303 and replay.headers["location"].startswith("/login")
        twin = httpx.get(
            f"{live.url}/projects/{live.project_id}?format=json",
            cookies={"agentops_session": stolen},
        )
        assert twin.status_code == 401
        assert other.get("/projects").status_code == 200  # only that sign-in ended
    assert sign_in(browser).status_code == 303
    assert browser.get("/projects").status_code == 200


def test_sign_out_everywhere_ends_every_sign_in_of_the_account(
    live: LiveServer, browser: httpx.Client
) -> None:
    create_account(live.store, "second@example.com", PASSWORD)
    assert sign_in(browser).status_code == 303
    page = browser.get("/projects").text
    assert 'action="/logout/everywhere"' in page and "Sign out everywhere" in page
    with (
        httpx.Client(base_url=live.url, timeout=30) as laptop,
        httpx.Client(base_url=live.url, timeout=30) as colleague,
    ):
        assert sign_in(laptop).status_code == 303
        assert sign_in(colleague, email="second@example.com").status_code == 303
        everywhere = "/logout/everywhere"
        assert browser.post(everywhere).status_code == 403  # CSRF-checked like every write
        assert laptop.get("/projects").status_code == 200
        token = csrf_token(page)
        response = browser.post(everywhere, data={"csrf_token": token})
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert browser.get("/projects").status_code == 303
        assert laptop.get("/projects").status_code == 303
        assert laptop.get("/projects?format=json").status_code == 401
        assert colleague.get("/projects").status_code == 200  # another account: untouched
        # signing in again, at once, works
        assert sign_in(laptop).status_code == 303
        assert laptop.get("/projects").status_code == 200


def test_an_unpriced_cost_is_shown_as_unknown_never_as_zero(
    live: LiveServer, browser: httpx.Client
) -> None:
    session_id, jwt = live.start_session(tags=["unpriced"])
    sent = live.send_events(jwt, [llm(model="no-such-model-xyz")])
    assert sent.status_code == 200, sent.text
    assert sign_in(browser).status_code == 303
    base = f"/projects/{live.project_id}/sessions"
    [row] = browser.get(f"{base}?tag=unpriced&format=json").json()["data"]
    assert row["stats"]["cost"] is None and row["stats"]["unknown_cost_events"] == 1
    page = browser.get(f"{base}?tag=unpriced").text
    assert re.search(r'<td class="num">unknown', page)
    assert "$0.00" not in page
    detail = browser.get(f"{base}/{session_id}").text
    assert re.search(r'id="session-cost">unknown', detail)


@pytest.mark.postgres
@pytest.mark.slow
def test_dashboard_on_postgresql_through_agentops_serve(pg_server: ServerProcess) -> None:
    """The real `agentops serve` on PostgreSQL: the printed admin signs in, and every order of
    the session list, the session page and its timeline answer."""
    headers = {"X-Agentops-Api-Key": pg_server.api_key}
    ids = []
    for i in range(3):
        session_id = f"00000000-0000-4000-8000-00000000000{i}"
        body = {
            "session": {
                "session_id": session_id,
                "tags": ["pg"],
                "end_state": "Indeterminate",
                "init_timestamp": f"2026-11-21T10:00:0{i}+00:00",
            }
        }
        created = httpx.post(f"{pg_server.url}/v2/create_session", json=body, headers=headers)
        assert created.status_code == 200, created.text
        jwt = created.json()["jwt"]
        events = {
            "events": [
                llm(
                    init_timestamp=f"2026-11-21T10:00:0{i}.5+00:00",
                    end_timestamp=f"2026-11-21T10:00:0{i + 1}+00:00",
                    prompt_tokens=100 * (i + 1),
                )
            ]
        }
        auth = {"Authorization": f"Bearer {jwt}", **headers}
        sent = httpx.post(f"{pg_server.url}/v2/create_events", json=events, headers=auth)
        assert sent.status_code == 200, sent.text
        ended = {
            "session": {
                **body["session"],
                "end_state": "Success",
                "end_timestamp": f"2026-11-21T10:0{i + 1}:00+00:00",
            }
        }
        done = httpx.post(f"{pg_server.url}/v2/update_session", json=ended, headers=auth)
        assert done.status_code == 200, done.text
        ids.append(session_id)
    client = signed_in_client(pg_server, printed_admin_password(pg_server))
    try:
        base = f"/projects/{pg_server.project_id}/sessions"
        orders = {
            "newest": ids[::-1],
            "oldest": ids,
            "cost": ids[::-1],
            "duration": ids[::-1],
        }
        for sort, expected in orders.items():
            page = client.get(f"{base}?sort={sort}&format=json&limit=2").json()
            rest = client.get(f"{base}?sort={sort}&format=json&cursor={page['next_cursor']}")
            assert [s["id"] for s in page["data"] + rest.json()["data"]] == expected, sort
        detail = client.get(f"{base}/{ids[0]}?format=json").json()["data"]
        window = f"start_ms={detail['timeline']['start_ms']}&end_ms={detail['timeline']['end_ms']}"
        density = client.get(f"{base}/{ids[0]}/timeline?{window}&buckets=10").json()["data"]
        assert density["total"] == 1
        top = client.get(f"{base}/{ids[0]}/tree?limit=5").json()
        assert [e["id"] for e in top["data"]] == [e["id"] for e in detail["tree"]["data"]]
        assert len(top["data"]) == 1 and top["next_cursor"] is None
        found = client.get(f"{base}?q={ids[2]}&format=json").json()["data"]  # an id
        assert [s["id"] for s in found] == [ids[2]]
    finally:
        client.close()


def test_the_overview_sums_past_int64_exactly(live: LiveServer, browser: httpx.Client) -> None:
    """Three sessions at 4 billion USD each (events at the per-event limit) add up to more
    nano-USD than int64 holds: the overview still answers, to the cent (it used to be a 500)."""
    for _ in range(3):
        _, jwt = live.start_session()
        calls = [
            {"id": str(uuid.uuid4()), "event_type": "llms", "model": "gpt-4o-mini", "cost": 10**6}
            for _ in range(4000)
        ]
        assert live.send_events(jwt, calls).status_code == 200
    assert sign_in(browser).status_code == 303
    response = browser.get(f"/projects/{live.project_id}?format=json&days=3650")
    assert response.status_code == 200, response.text[:300]
    overview = response.json()["data"]
    assert overview["totals"]["cost"] == "12000000000"
    [model] = overview["models"]
    assert (model["model"], model["calls"], model["cost"]) == ("gpt-4o-mini", 12000, "12000000000")


@pytest.mark.postgres
def test_a_nul_in_a_project_name_or_key_label_is_400_on_postgresql(pg_live: LiveServer) -> None:
    """PostgreSQL stores no NUL in text: these forms used to answer 500 there."""
    create_account(pg_live.store, EMAIL, PASSWORD)
    with httpx.Client(base_url=pg_live.url, timeout=30) as browser:
        assert sign_in(browser).status_code == 303
        token = csrf_token(browser.get("/projects").text)
        before = len(pg_live.store.list_projects())
        made = browser.post("/projects", data={"name": "a\x00b", "csrf_token": token})
        assert made.status_code == 400 and "without NUL" in made.text
        keys = f"/projects/{pg_live.project_id}/keys"
        labelled = browser.post(keys, data={"label": "a\x00b", "csrf_token": token})
        assert labelled.status_code == 400 and "without NUL" in labelled.text
        assert len(pg_live.store.list_projects()) == before
        assert len(pg_live.store.list_api_keys(pg_live.project_id)) == 1
