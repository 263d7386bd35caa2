"""The session page's event tree over real HTTP: its JSON (the page's twin and the `/tree`
endpoint, level by level, with parent ids, child counts and orphans), and the session's name,
metadata and uploaded logs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agentops_server.auth.accounts import create_account
from agentops_server.storage.records import SessionWrite
from tests.server.conftest import LiveServer, action, llm, tool
from tests.support.dashboard import csrf_token

EMAIL, PASSWORD = "tree@example.com", "correct horse battery"
HOSTILE = "</script><script>alert(1)</script>"


@pytest.fixture
def anonymous(live: LiveServer) -> Iterator[httpx.Client]:
    """A browser-like client (cookies, no redirects followed) that has not signed in."""
    create_account(live.store, EMAIL, PASSWORD)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


@pytest.fixture
def browser(anonymous: httpx.Client) -> httpx.Client:
    token = csrf_token(anonymous.get("/login").text)
    signed = anonymous.post(
        "/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/"}
    )
    assert signed.status_code == 303
    return anonymous


def at(second: float) -> str:
    return f"2026-11-21T12:37:{second:06.3f}+00:00"


def nested_session(live: LiveServer) -> tuple[str, dict[str, str]]:
    """agent (0-9 s) > [search tool > LLM call, 12 LLM calls]; a last step; an orphan."""
    session_id, jwt = live.start_session()
    ids = {"agent": str(uuid.uuid4()), "search": str(uuid.uuid4())}
    events = [
        action(id=ids["agent"], action_type=HOSTILE, init_timestamp=at(0), end_timestamp=at(9)),
        tool(id=ids["search"], parent_id=ids["agent"], init_timestamp=at(1), end_timestamp=at(2)),
        llm(parent_id=ids["search"], init_timestamp=at(1.2), end_timestamp=at(1.8)),
        *[
            llm(parent_id=ids["agent"], init_timestamp=at(2 + i / 2), end_timestamp=at(2.4 + i / 2))
            for i in range(12)
        ],
        action(action_type="last", init_timestamp=at(10), end_timestamp=at(11)),
        tool(parent_id="span-never-sent", init_timestamp=at(8), end_timestamp=at(8.5)),
    ]
    sent = live.send_events(jwt, events)
    assert sent.status_code == 200, sent.text
    return session_id, ids


def test_the_session_page_and_tree_endpoint_give_the_tree_level_by_level(
    live: LiveServer, browser: httpx.Client
) -> None:
    session_id, ids = nested_session(live)
    base = f"/projects/{live.project_id}/sessions/{session_id}"
    detail = browser.get(f"{base}?format=json").json()["data"]
    top = detail["tree"]
    assert [(e["event_type"], e["child_count"], e["orphan"]) for e in top["data"]] == [
        ("actions", 13, False),
        ("tools", 0, True),  # its parent was never sent: shown at the top, marked
        ("actions", 0, False),
    ]
    assert top["data"][0]["id"] == ids["agent"] and top["data"][0]["name"] == HOSTILE
    assert top["data"][1]["parent_id"] == "span-never-sent"
    assert top["next_cursor"] is None
    # the page embeds the same first level as data that cannot end its script element
    page = browser.get(base).text
    embedded = re.search(r'<script type="application/json" id="tree-data">(.*?)</script>', page)
    assert embedded is not None and ids["agent"] in embedded.group(1)
    assert "<script>alert(1)" not in page

    assert browser.get(f"{base}/tree").json() == top
    children = browser.get(f"{base}/tree", params={"parent_id": ids["agent"], "limit": 5}).json()
    assert [e["event_type"] for e in children["data"]] == ["tools", "llms", "llms", "llms", "llms"]
    assert children["data"][0] | {"start_ms": 0, "end_ms": 0} == {
        "id": ids["search"],
        "parent_id": ids["agent"],
        "event_type": "tools",
        "start_ms": 0,
        "end_ms": 0,
        "name": "web-search",
        "model": None,
        "agent_id": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "cost_nanos": None,
        "cost_source": "none",
        "child_count": 1,
        "child_count_exact": True,
        "orphan": False,
    }
    assert children["data"][1]["cost_nanos"] == 45_000  # gpt-4o-mini, 100 in / 50 out
    seen = [e["id"] for e in children["data"]]
    cursor = children["next_cursor"]
    while cursor:
        page_json = browser.get(
            f"{base}/tree", params={"parent_id": ids["agent"], "limit": 5, "cursor": cursor}
        ).json()
        seen += [e["id"] for e in page_json["data"]]
        cursor = page_json["next_cursor"]
    assert len(seen) == len(set(seen)) == 13
    [grandchild] = browser.get(f"{base}/tree", params={"parent_id": ids["search"]}).json()["data"]
    assert (grandchild["event_type"], grandchild["child_count"]) == ("llms", 0)

    # a zoomed view lists from its start, after what is still running then: at 8.2 s the
    # agent (0-9 s) and the orphan (8-8.5 s) are running, "last" starts later
    from_ms = top["data"][0]["start_ms"] + 8_200
    later = browser.get(f"{base}/tree", params={"from_ms": from_ms}).json()
    assert [e["event_type"] for e in later["data"]] == ["actions", "tools", "actions"]
    assert later["running"] == 2


def test_tree_requests_that_cannot_be_answered(live: LiveServer, browser: httpx.Client) -> None:
    session_id, ids = nested_session(live)
    base = f"/projects/{live.project_id}/sessions/{session_id}"
    first = browser.get(f"{base}/tree", params={"parent_id": ids["agent"], "limit": 1}).json()
    cases: dict[str, tuple[dict[str, Any], int, str]] = {
        "a cursor of another level": ({"cursor": first["next_cursor"]}, 400, "invalid cursor"),
        "garbage": ({"cursor": "x"}, 400, "invalid cursor"),
        "a time before 1970": ({"from_ms": -1}, 400, "from_ms"),
    }
    for what, (params, status, message) in cases.items():
        response = browser.get(f"{base}/tree", params=params)
        assert response.status_code == status, what
        assert message in response.json()["error"]["message"], what
    missing = browser.get(f"/projects/{live.project_id}/sessions/{uuid.uuid4()}/tree")
    assert missing.status_code == 404
    other = live.store.create_project("Other")
    assert browser.get(f"/projects/{other.id}/sessions/{session_id}/tree").status_code == 404
    browser.cookies.clear()
    signed_out = browser.get(f"{base}/tree")
    assert signed_out.status_code == 401
    assert signed_out.json()["error"]["code"] == "unauthorized"


def test_the_summary_shows_name_metadata_and_uploaded_logs(
    live: LiveServer, browser: httpx.Client
) -> None:
    session_id, _ = live.start_session()
    base = f"/projects/{live.project_id}/sessions/{session_id}"
    assert 'id="session-logs"' not in browser.get(base).text  # no logs, no panel
    write = SessionWrite(
        id=session_id,
        project_id=live.project_id,
        name="<i>nightly</i> run",
        metadata={"user": "ada", "limits": {"tokens": 1000}},
    )
    live.store.write_session(write, create=False)
    live.store.add_session_log(session_id, "\x1b[1mbold\x1b[0m step <script>x()</script>\n")
    page = browser.get(base).text
    assert "&lt;i&gt;nightly&lt;/i&gt; run" in page
    assert '<span class="meta-key">limits</span> {"tokens": 1000}' in page
    logs = re.search(r'<details class="panel logs" id="session-logs">(.*?)</details>', page, re.S)
    assert logs is not None
    assert "bold step &lt;script&gt;x()&lt;/script&gt;" in logs.group(1)
    assert "\x1b" not in logs.group(1)
    twin = browser.get(f"{base}?format=json").json()["data"]
    assert twin["session"]["name"] == "<i>nightly</i> run"
    assert twin["session"]["metadata"] == {"user": "ada", "limits": {"tokens": 1000}}
    [log] = twin["logs"]  # the JSON keeps the text as it was uploaded
    assert log["body"] == "\x1b[1mbold\x1b[0m step <script>x()</script>\n"
