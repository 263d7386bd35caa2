"""Alerts: a project's rules, one row per occurrence that fired (its unique key is the claim
that makes workers and replicas send one notification), and every delivery attempt.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("threshold", sa.Text(), nullable=True),
        sa.Column("window_minutes", sa.Integer(), nullable=True),
        sa.Column("min_sessions", sa.Integer(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("episode", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rules"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_alert_rules_project_id_projects"
        ),
    )
    op.create_index(
        "ix_alert_rules_project_created", "alert_rules", ["project_id", "created_at"]
    )
    op.create_table(
        "alert_firings",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("occurrence", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=True),
        sa.Column("fired_at", TS, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_firings"),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name="fk_alert_firings_rule_id_alert_rules",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("rule_id", "occurrence", name="uq_alert_firings_rule_id_occurrence"),
    )
    op.create_index(
        "ix_alert_firings_status_next", "alert_firings", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_alert_firings_project_fired", "alert_firings", ["project_id", "fired_at", "id"]
    )
    op.create_table(
        "alert_attempts",
        sa.Column("firing_id", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("firing_id", "attempt", name="pk_alert_attempts"),
        sa.ForeignKeyConstraint(
            ["firing_id"],
            ["alert_firings.id"],
            name="fk_alert_attempts_firing_id_alert_firings",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_attempts")
    op.drop_index("ix_alert_firings_project_fired", table_name="alert_firings")
    op.drop_index("ix_alert_firings_status_next", table_name="alert_firings")
    op.drop_table("alert_firings")
    op.drop_index("ix_alert_rules_project_created", table_name="alert_rules")
    op.drop_table("alert_rules")
