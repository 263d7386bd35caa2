"""search_docs.session_fields: a session's own words (its name, end reason and agents' names)
in documents that are replaced when they change, apart from its events' words. Until now each
change added a document, and a search still found a session by a reason or name it no longer
had. Those documents cannot be told from the events' ones, so the index is rebuilt here from
what is stored, as an import builds it (storage/session_words.py, this version's code, as 0005
uses search_index). In the migrations' one transaction, so writes wait for it: about the time
ingest spent indexing (on the 2-core build machine 1 s per 50,000 events on SQLite, 9 s on
PostgreSQL).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import sys
import time

import sqlalchemy as sa
from alembic import op

from agentops_server.storage import search_index, session_words

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SESSIONS_PER_BATCH = 200
PROGRESS_EVERY_SECONDS = 5.0


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    with op.batch_alter_table("search_docs") as batch:
        batch.add_column(
            sa.Column("session_fields", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    if dialect == "sqlite":
        fts = search_index.FTS_TABLE
        op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('delete-all')")  # contentless: no DELETE
        op.execute("DELETE FROM search_docs")
    else:
        op.execute("DROP INDEX ix_search_docs_terms")  # built once, after the rebuild
        op.execute("TRUNCATE search_docs")
    ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM sessions ORDER BY id"))]
    _rebuild(conn, dialect, ids)
    if dialect == "postgresql":
        op.execute(search_index.POSTGRES_TERMS_INDEX)
    op.create_index(
        "ix_search_docs_fields",
        "search_docs",
        ["session_id"],
        sqlite_where=sa.text("session_fields = 1"),
        postgresql_where=sa.text("session_fields"),
    )


def _rebuild(conn: sa.Connection, dialect: str, ids: list[str]) -> None:
    """Index every stored session again, saying how far it got every few seconds (a large
    database takes minutes, and the server or `agentops db upgrade` waits for it)."""
    if not ids:
        return
    _say(f"rebuilding the text search index of {len(ids):,} session(s) (migration 0010)")
    started = said = time.monotonic()
    for start in range(0, len(ids), SESSIONS_PER_BATCH):
        session_words.index_stored(conn, dialect, ids[start : start + SESSIONS_PER_BATCH])
        now = time.monotonic()
        if now - said >= PROGRESS_EVERY_SECONDS:
            done = min(start + SESSIONS_PER_BATCH, len(ids))
            _say(f"  {done:,} of {len(ids):,} sessions indexed")
            said = now
    _say(f"text search index rebuilt in {time.monotonic() - started:.1f} s")


def _say(line: str) -> None:
    print(f"agentops: {line}", file=sys.stderr, flush=True)


def downgrade() -> None:
    op.drop_index("ix_search_docs_fields", table_name="search_docs")
    with op.batch_alter_table("search_docs") as batch:
        batch.drop_column("session_fields")
