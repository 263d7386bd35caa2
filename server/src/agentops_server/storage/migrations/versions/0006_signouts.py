"""Server-side sign-out: ended dashboard sign-ins, and a per-account sign-in generation.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("signin_generation", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "dashboard_signouts",
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_dashboard_signouts"),
    )
    op.create_index("ix_dashboard_signouts_expires", "dashboard_signouts", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_signouts_expires", table_name="dashboard_signouts")
    op.drop_table("dashboard_signouts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("signin_generation")
