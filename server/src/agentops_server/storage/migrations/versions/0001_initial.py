"""Initial schema: projects, keys, sessions, tags, stats, events, agents, price overrides.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTERS = (
    "events", "llms", "tools", "actions", "errors", "prompt_tokens", "completion_tokens",
    "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_nanos",
    "unknown_cost_events",
)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_api_keys_project_id_projects"
        ),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_project_id", "api_keys", ["project_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("parent_project_id", sa.Text(), nullable=True),
        sa.Column("init_timestamp", TS, nullable=False),
        sa.Column("end_timestamp", TS, nullable=True),
        sa.Column("end_state", sa.Text(), server_default="Indeterminate", nullable=False),
        sa.Column("end_state_reason", sa.Text(), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("host_env", JSON, nullable=True),
        sa.Column("video", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_activity_at", TS, nullable=False),
        sa.Column("auto_ended", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_sessions_project_id_projects"
        ),
    )
    op.create_index(
        "ix_sessions_project_init", "sessions", ["project_id", "init_timestamp", "id"]
    )
    op.create_index(
        "ix_sessions_project_state_init",
        "sessions",
        ["project_id", "end_state", "init_timestamp", "id"],
    )
    op.create_index(
        "ix_sessions_open_activity",
        "sessions",
        ["last_activity_at"],
        sqlite_where=sa.text("end_timestamp IS NULL"),
        postgresql_where=sa.text("end_timestamp IS NULL"),
    )
    op.create_table(
        "session_tags",
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("init_timestamp", TS, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "tag", name="pk_session_tags"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_session_tags_session_id_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_session_tags_project_tag_init",
        "session_tags",
        ["project_id", "tag", "init_timestamp", "session_id"],
    )
    op.create_table(
        "session_stats",
        sa.Column("session_id", sa.Text(), nullable=False),
        *[
            sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)
            for name in COUNTERS
        ],
        sa.Column("first_event_at", TS, nullable=True),
        sa.Column("last_event_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_stats"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_session_stats_session_id_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "events",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("init_timestamp", TS, nullable=False),
        sa.Column("end_timestamp", TS, nullable=True),
        sa.Column("agent_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=True),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=True),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=True),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=True),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=True),
        sa.Column("cost_nanos", sa.BigInteger(), nullable=True),
        sa.Column("cost_source", sa.Text(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_events_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("session_id", "id", name="uq_events_session_id_id"),
    )
    op.create_index(
        "ix_events_session_time", "events", ["session_id", "init_timestamp", "seq"]
    )
    op.create_index(
        "ix_events_session_type_time",
        "events",
        ["session_id", "event_type", "init_timestamp", "seq"],
    )
    op.create_table(
        "agents",
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("session_id", "id", name="pk_agents"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_agents_session_id_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "price_overrides",
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("input_per_mtok", sa.Text(), nullable=False),
        sa.Column("output_per_mtok", sa.Text(), nullable=False),
        sa.Column("cache_read_per_mtok", sa.Text(), nullable=True),
        sa.Column("cache_write_per_mtok", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "model", name="pk_price_overrides"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_price_overrides_project_id_projects"
        ),
    )


def downgrade() -> None:
    for table in (
        "price_overrides", "agents", "events", "session_stats", "session_tags", "sessions",
        "api_keys", "projects",
    ):
        op.drop_table(table)
