"""Alembic environment: run by storage.migrate with a live connection (no alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from agentops_server.storage.engine import create_admin_engine
from agentops_server.storage.schema import metadata

LOCK_KEY = 0x6167_6F70  # "agop"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # SQLite's DDL is transactional too: all migrations in the one transaction below,
        # whose BEGIN IMMEDIATE makes servers starting together wait for the first to finish.
        # Alembic's default for SQLite committed each migration apart, and a server starting
        # between two of them planned from the older revision ("table ... already exists").
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # several servers may start at once: one migrates, the others wait, then see head
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a connection or set sqlalchemy.url")
    engine = create_admin_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError(
        "offline (SQL script) migrations are not supported; use `agentops db upgrade`"
    )
run_migrations_online()
