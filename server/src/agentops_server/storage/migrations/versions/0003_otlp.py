"""Nesting and OpenTelemetry: events.parent_id, session name and metadata, OTLP data waiting
for its token or its span, uploaded logs and objects of agentops 0.4.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("parent_id", sa.Text(), nullable=True))
    op.create_index(
        "ix_events_session_parent", "events", ["session_id", "parent_id", "init_timestamp", "seq"]
    )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("metadata", JSON, nullable=True))
        batch.add_column(sa.Column("root_span_id", sa.Text(), nullable=True))
    op.create_table(
        "pending_otlp",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("trace_id", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_pending_otlp"),
    )
    op.create_index("ix_pending_otlp_trace", "pending_otlp", ["trace_id"])
    op.create_index("ix_pending_otlp_received", "pending_otlp", ["received_at"])
    op.create_table(
        "session_logs",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_session_logs_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_session_logs"),
    )
    op.create_index("ix_session_logs_session", "session_logs", ["session_id", "seq"])
    op.create_table(
        "stored_objects",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_stored_objects_project_id_projects"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stored_objects"),
    )


def downgrade() -> None:
    op.drop_table("stored_objects")
    op.drop_index("ix_session_logs_session", table_name="session_logs")
    op.drop_table("session_logs")
    op.drop_index("ix_pending_otlp_received", table_name="pending_otlp")
    op.drop_index("ix_pending_otlp_trace", table_name="pending_otlp")
    op.drop_table("pending_otlp")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("root_span_id")
        batch.drop_column("metadata")
        batch.drop_column("name")
    op.drop_index("ix_events_session_parent", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("parent_id")
