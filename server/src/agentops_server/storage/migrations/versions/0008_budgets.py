"""Project budgets: a daily and a monthly cost limit per project.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_budgets",
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("daily_limit_nanos", sa.BigInteger(), nullable=True),
        sa.Column("monthly_limit_nanos", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_project_budgets_project_id_projects"
        ),
        sa.PrimaryKeyConstraint("project_id", name="pk_project_budgets"),
    )


def downgrade() -> None:
    op.drop_table("project_budgets")
