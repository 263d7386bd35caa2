"""pending_otlp.span_id: the span that waiting log content is for, so that a request of the
trace takes the content of its own spans only and leaves the rest waiting.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pending_otlp") as batch:
        batch.add_column(sa.Column("span_id", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pending_otlp") as batch:
        batch.drop_column("span_id")
