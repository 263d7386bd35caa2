"""Finding sessions: the models each session called, an index of agent names, and the
full-text index (search_docs with FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL),
filled here from the events, agents and end reasons already stored.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from agentops_server.storage import search_index, search_text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TERMS = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")
SESSIONS_PER_BATCH = 500
MODEL_COUNTERS: tuple[str, ...] = ("calls", "failed_calls", "unpriced_calls")
MODEL_COUNTERS += ("prompt_tokens", "completion_tokens", "cost_nanos")
TOKENS = "COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)"
MODELS_BACKFILL = f"""
INSERT INTO session_models (session_id, model, {", ".join(MODEL_COUNTERS)})
SELECT session_id, COALESCE(model, ''), COUNT(*),
  SUM(CASE WHEN cost_nanos IS NULL AND {TOKENS} = 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN cost_nanos IS NULL AND {TOKENS} > 0 THEN 1 ELSE 0 END),
  COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),
  COALESCE(SUM(cost_nanos), 0)
FROM events WHERE event_type = 'llms' GROUP BY session_id, COALESCE(model, '')
"""


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    op.create_table(
        "session_models",
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        *[
            sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)
            for name in MODEL_COUNTERS
        ],
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_session_models_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "model", name="pk_session_models"),
    )
    op.create_index("ix_session_models_model", "session_models", ["model", "session_id"])
    op.create_index("ix_agents_name", "agents", ["name", "session_id"])
    op.create_table(
        "search_docs",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("terms", TERMS, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_search_docs_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_search_docs"),
    )
    op.create_index("ix_search_docs_session", "search_docs", ["session_id"])
    if dialect == "sqlite":
        op.execute(search_index.SQLITE_CREATE)
    _backfill(conn, dialect)
    if dialect == "postgresql":
        for statement in search_index.POSTGRES_INDEXES:  # built once, after the backfill
            op.execute(statement)


def _backfill(conn: Any, dialect: str) -> None:
    """Index what is stored: each session's events in one document, a few hundred sessions
    at a time, then agent names and end reasons."""
    conn.execute(sa.text(MODELS_BACKFILL))
    ids = [r[0] for r in conn.execute(sa.text("SELECT DISTINCT session_id FROM events"))]
    json_type = postgresql.JSONB() if dialect == "postgresql" else sa.JSON()
    read = (
        sa.text("SELECT session_id, name, model, payload FROM events WHERE session_id IN :ids")
        .bindparams(sa.bindparam("ids", expanding=True))
        .columns(
        sa.column("session_id", sa.Text()),
        sa.column("name", sa.Text()),
        sa.column("model", sa.Text()),
            sa.column("payload", json_type),
        )
    )
    for start in range(0, len(ids), SESSIONS_PER_BATCH):
        rows = conn.execute(read, {"ids": ids[start : start + SESSIONS_PER_BATCH]}).mappings()
        events = [SimpleNamespace(**row) for row in rows]
        search_index.add_documents(conn, dialect, search_text.documents(events))
    for query in (
        "SELECT session_id, name FROM agents WHERE name IS NOT NULL",
        "SELECT id, end_state_reason FROM sessions WHERE end_state_reason IS NOT NULL",
    ):
        found = conn.execute(sa.text(query)).all()
        for start in range(0, len(found), 1000):
            docs: dict[str, str] = {}
            for session_id, text in found[start : start + 1000]:
                docs[session_id] = f"{docs[session_id]}\n{text}" if session_id in docs else text
            search_index.add_documents(conn, dialect, docs)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE {search_index.FTS_TABLE}")
    else:
        op.execute("DROP INDEX ix_search_docs_terms")
        op.execute("DROP INDEX ix_sessions_id_pattern")
    op.drop_index("ix_search_docs_session", table_name="search_docs")
    op.drop_table("search_docs")
    op.drop_index("ix_agents_name", table_name="agents")
    op.drop_index("ix_session_models_model", table_name="session_models")
    op.drop_table("session_models")
