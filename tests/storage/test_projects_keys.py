"""Projects and API keys: created, listed, found by hash, revoked."""

from __future__ import annotations

import pytest

from agentops_server.storage.sql_store import SqlStore
from agentops_server.storage.store import Conflict, NotFound


def test_projects_are_created_listed_and_found(store: SqlStore) -> None:
    first = store.create_project("First")
    second = store.create_project("Second")
    assert [p.name for p in store.list_projects()] == ["First", "Second"]
    assert store.get_project(second.id) == second
    assert first.created_at.tzinfo is not None
    with pytest.raises(NotFound):
        store.get_project("no-such-project")


def test_keys_are_stored_by_hash_and_revocable(store: SqlStore) -> None:
    project = store.create_project("P")
    key = store.create_api_key(project.id, "hash-1", "ab12", "ci")
    assert store.find_api_key("hash-1") == key
    assert store.find_api_key("hash-2") is None
    assert store.list_api_keys(project.id) == [key]

    revoked = store.revoke_api_key(key.id)
    assert revoked.revoked_at is not None
    assert store.find_api_key("hash-1") == revoked  # revoked keys are still found
    assert store.revoke_api_key(key.id).revoked_at == revoked.revoked_at  # idempotent


def test_key_errors(store: SqlStore) -> None:
    project = store.create_project("P")
    store.create_api_key(project.id, "same-hash", "ab12", "one")
    with pytest.raises(Conflict):
        store.create_api_key(project.id, "same-hash", "ab12", "two")
    with pytest.raises(NotFound):
        store.create_api_key("no-such-project", "other-hash", "cd34", "x")
    with pytest.raises(NotFound):
        store.revoke_api_key("no-such-key")
    assert len(store.list_api_keys(project.id)) == 1
