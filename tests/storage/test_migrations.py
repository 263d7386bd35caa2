"""Migrations build the schema from nothing, on both engines, and match the table definitions."""

from __future__ import annotations

import multiprocessing

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from agentops_server.storage.engine import create_admin_engine
from agentops_server.storage.migrate import current_revision, head_revision, upgrade
from agentops_server.storage.schema import SEARCH_ENGINE_OBJECTS, metadata


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
