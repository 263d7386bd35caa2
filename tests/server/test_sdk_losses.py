"""Losses are visible: the events an SDK could not deliver, counted by reason, reach the server
with the session (`session.dropped_events`) and show in its stats, its export and its page."""

from __future__ import annotations

import html

import httpx
import pytest

from agentops_server.auth.accounts import create_account
from tests.server.conftest import LiveServer, llm
from tests.server.test_dashboard_http import EMAIL, sign_in


def update(live: LiveServer, jwt: str, **fields: object) -> httpx.Response:
    return live.post("/v2/update_session", {"session": fields}, headers=live.auth(jwt))


def reported_losses(live: LiveServer) -> None:
    session_id, jwt = live.start_session(dropped_events={"queue_full": 2})
    assert live.send_events(jwt, [llm()]).status_code == 200
    assert live.stats(session_id)["dropped_events"] == {"queue_full": 2}

    # cumulative counts: a later, larger count replaces; a stale (retried) update never lowers
    # or doubles one; a new reason is added
    assert update(live, jwt, dropped_events={"queue_full": 5, "refused": 1}).status_code == 200
    assert update(live, jwt, dropped_events={"queue_full": 3}).status_code == 200
    assert update(live, jwt, end_state="Success", is_running=False).status_code == 200

    stats = live.stats(session_id)
    assert stats["dropped_events"] == {"queue_full": 5, "refused": 1}
    assert stats["events"] == 1 and stats["end_state"] == "Success"
    export = live.get(f"/v2/sessions/{session_id}/export").json()
    assert export["session"]["dropped_events"] == {"queue_full": 5, "refused": 1}
    assert export["stats"]["dropped_events"] == {"queue_full": 5, "refused": 1}


def test_reported_losses_are_kept_by_reason_on_sqlite(live: LiveServer) -> None:
    reported_losses(live)


def test_reported_losses_are_kept_by_reason_on_postgresql(pg_live: LiveServer) -> None:
    reported_losses(pg_live)


def test_a_session_without_losses_says_none(live: LiveServer) -> None:
    session_id, jwt = live.start_session()
    assert update(live, jwt, dropped_events={"queue_full": 0}).status_code == 200
    assert live.stats(session_id)["dropped_events"] == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2], "must be an object"),
        ({"queue_full": -1}, "must be a count"),
        ({"queue_full": 1.5}, "must be a count"),
        ({"queue_full": "3"}, "must be a count"),
        ({"queue_full": True}, "must be a count"),
        ({"": 1}, "a reason must be 1 to 64 characters"),
        ({"x" * 65: 1}, "a reason must be 1 to 64 characters"),
        ({f"r{i}": 1 for i in range(21)}, "at most 20 reasons"),
    ],
)
def test_malformed_losses_are_refused_and_change_nothing(
    live: LiveServer, value: object, message: str
) -> None:
    session_id, jwt = live.start_session(dropped_events={"queue_full": 1})
    res = update(live, jwt, dropped_events=value, end_state="Success", is_running=False)
    assert res.status_code in (400, 422), res.text
    assert message in res.text
    stats = live.stats(session_id)
    assert stats["dropped_events"] == {"queue_full": 1}
    assert stats["end_state"] == "Indeterminate"  # the whole update was refused


def test_the_session_page_says_what_was_lost(live: LiveServer) -> None:
    create_account(live.store, EMAIL, "correct horse battery")
    session_id, jwt = live.start_session()
    losses = {"queue_full": 1200, "spool_full": 3}
    assert update(live, jwt, dropped_events=losses).status_code == 200
    with httpx.Client(base_url=live.url, timeout=30) as browser:
        assert sign_in(browser).status_code == 303
        page = browser.get(f"/projects/{live.project_id}/sessions/{session_id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "1,203 events the SDK could not deliver: queue full 1,200, spool full 3" in text
