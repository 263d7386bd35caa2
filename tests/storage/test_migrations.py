"""Migrations build the schema from nothing, on both engines, and match the table definitions."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert

from agentops_server.storage import search_index
from agentops_server.storage.engine import create_admin_engine
from agentops_server.storage.migrate import current_revision, head_revision, upgrade
from agentops_server.storage.records import SessionFilter, SessionWrite
from agentops_server.storage.schema import (
    SEARCH_ENGINE_OBJECTS,
    agents,
    events,
    metadata,
    projects,
    session_stats,
    sessions,
)
from agentops_server.storage.sql_store import open_store


def test_upgrade_empty_database_to_head_and_again(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    upgrade(database_url)  # a second start finds nothing to do
    assert current_revision(database_url) == head_revision()


def test_migrated_schema_matches_table_definitions(database_url: str) -> None:
    upgrade(database_url)
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_name": lambda name, *_: name not in SEARCH_ENGINE_OBJECTS}
            )
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []


def _upgrade_in_process(database_url: str, start: object) -> None:
    start.wait(30)  # type: ignore[attr-defined]
    upgrade(database_url)


def test_servers_starting_together_migrate_once(database_url: str) -> None:
    """Several processes (replicas, --workers) run upgrade() on an empty database at once."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_upgrade_in_process, args=(database_url, start)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * 4
    assert current_revision(database_url) == head_revision()


def test_the_search_migration_indexes_what_is_stored(database_url: str) -> None:
    """Data stored before migration 0005 is found by words, model and agent after it, and its
    models' calls are counted (failed apart from unpriced)."""
    upgrade(database_url, "0004")
    when = datetime(2026, 11, 1, tzinfo=UTC)
    engine = create_admin_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(projects).values(id="p", name="P", created_at=when))
            conn.execute(
                insert(sessions).values(
                    id="s1", project_id="p", init_timestamp=when, end_state="Fail",
                    end_state_reason="ran out of marmalade", tags=["old"],
                    created_at=when, last_activity_at=when,
                )
            )  # fmt: skip
            conn.execute(insert(session_stats).values(session_id="s1", llms=2))
            common = {"session_id": "s1", "event_type": "llms", "init_timestamp": when}
            conn.execute(
                insert(events),
                [
                    {**common, "id": "e1", "model": "gpt-4o", "prompt_tokens": 5,
                     "completion_tokens": 1, "cost_nanos": 7, "cost_source": "computed",
                     "payload": {"prompt": [{"role": "user", "content": "Zanzibar cloves"}]}},
                    {**common, "id": "e2", "model": "my-model", "prompt_tokens": None,
                     "completion_tokens": None, "cost_nanos": None,
                     "cost_source": "unknown_model", "payload": {"completion": ""}},
                ],
            )  # fmt: skip
            conn.execute(insert(agents).values(session_id="s1", id="a1", name="Librarian"))
    finally:
        engine.dispose()
    upgrade(database_url)
    store = open_store(database_url)
    try:
        for found in ("zanzibar cloves", "marmalade", "librarian"):
            page = store.list_sessions("p", SessionFilter(text=found), None, 10)
            assert [s.id for s in page.sessions] == ["s1"], found
        page = store.list_sessions("p", SessionFilter(model="my-model"), None, 10)
        assert [s.id for s in page.sessions] == ["s1"]
        models = {m.model: m for m in store.overview("p", None, None).models}
        assert (models["gpt-4o"].calls, models["gpt-4o"].cost_nanos) == (1, 7)
        assert (models["my-model"].failed_calls, models["my-model"].unpriced_calls) == (1, 0)
    finally:
        store.close()


def test_the_session_words_migration_forgets_names_and_reasons_a_session_no_longer_has(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before 0010 each name, end reason and agent name a session was given added a document,
    and a search kept finding it by those it had lost. 0010 rebuilds the index from what is
    stored, with the session's own words in a document a later change replaces."""
    upgrade(database_url, "0009")
    when = datetime(2026, 11, 1, tzinfo=UTC)
    engine = create_admin_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(projects).values(id="p", name="P", created_at=when))
            conn.execute(
                insert(sessions).values(
                    id="s1", project_id="p", init_timestamp=when, end_state="Success",
                    end_state_reason="every jar counted", name="weekly digest", tags=[],
                    created_at=when, last_activity_at=when,
                )
            )  # fmt: skip
            conn.execute(insert(session_stats).values(session_id="s1", llms=1))
            conn.execute(
                insert(events).values(
                    session_id="s1", id="e1", event_type="llms", init_timestamp=when,
                    model="gpt-4o", cost_source="computed",
                    payload={"prompt": [{"role": "user", "content": "Zanzibar cloves"}]},
                )
            )  # fmt: skip
            conn.execute(insert(agents).values(session_id="s1", id="a1", name="Bookbinder"))
            # what ingest indexed before 0010: the event's words, then each name and reason
            # as it came, the lost ones included
            dialect = conn.dialect.name
            search_index.add_documents(conn, dialect, {"s1": "gpt-4o\nZanzibar cloves"})
            for given in ("nightly crawler", "ran out of crumpets", "Archivist"):
                search_index.add_documents(conn, dialect, {"s1": given})
            for given in ("weekly digest", "every jar counted", "Bookbinder"):
                search_index.add_documents(conn, dialect, {"s1": given})
    finally:
        engine.dispose()
    upgrade(database_url)
    said = capsys.readouterr().err  # a long rebuild says what it does
    assert "rebuilding the text search index of 1 session(s) (migration 0010)" in said
    assert "text search index rebuilt in" in said
    store = open_store(database_url)

    def found(text: str) -> list[str]:
        return [s.id for s in store.list_sessions("p", SessionFilter(text=text), None, 10).sessions]

    try:
        for lost in ("crawler", "crumpets", "archivist"):
            assert found(lost) == [], lost
        for kept in ("zanzibar cloves", "weekly digest", "counted", "bookbinder", "gpt"):
            assert found(kept) == ["s1"], kept
        store.write_session(
            SessionWrite(id="s1", project_id="p", name="monthly ledger"), create=False
        )
        assert (found("digest"), found("ledger bookbinder counted zanzibar")) == ([], ["s1"])
    finally:
        store.close()
