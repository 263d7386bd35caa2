"""Server-side sign-out in the store, on both engines: ended sign-ins and account generations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentops_server.storage.sql_store import SqlStore
from agentops_server.storage.store import NotFound


def test_an_ended_sign_in_is_remembered_until_its_cookie_expires(store: SqlStore) -> None:
    later = datetime.now(UTC) + timedelta(days=14)
    assert not store.dashboard_session_ended("sid-1")
    store.end_dashboard_session("sid-1", later)
    store.end_dashboard_session("sid-1", later)  # twice (two tabs) is fine
    assert store.dashboard_session_ended("sid-1")
    assert not store.dashboard_session_ended("sid-2")
    # rows whose cookie has expired anyway are dropped by the next sign-out
    store.end_dashboard_session("sid-old", datetime.now(UTC) - timedelta(seconds=1))
    store.end_dashboard_session("sid-3", later)
    assert not store.dashboard_session_ended("sid-old")
    assert store.dashboard_session_ended("sid-1") and store.dashboard_session_ended("sid-3")


def test_signing_out_everywhere_moves_the_accounts_generation(store: SqlStore) -> None:
    user = store.create_user("a@example.com", "hash")
    other = store.create_user("b@example.com", "hash")
    assert user.signin_generation == 0
    assert store.end_all_dashboard_sessions(user.id) == 1
    assert store.end_all_dashboard_sessions(user.id) == 2
    assert store.get_user(user.id).signin_generation == 2
    assert store.find_user("a@example.com") == store.get_user(user.id)
    assert store.get_user(other.id).signin_generation == 0
    with pytest.raises(NotFound):
        store.end_all_dashboard_sessions("no-such-user")
