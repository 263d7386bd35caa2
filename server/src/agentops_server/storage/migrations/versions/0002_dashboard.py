"""Dashboard: accounts, and the columns and indexes that keep sorted session lists fast.

- users: dashboard accounts (scrypt password hashes).
- sessions.duration_ms: end minus start in milliseconds (NULL while running), kept by a
  trigger so every writer (any replica, any version of the ingest code) keeps it exact;
  indexed per project for "longest first".
- session_stats.project_id: copied from the session by a trigger when the stats row is
  created; indexed with cost for "most expensive first" within one project.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

SQLITE_DURATION = (
    "CAST(round((julianday(NEW.end_timestamp) - julianday(NEW.init_timestamp)) * 86400000.0)"
    " AS INTEGER)"
)
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER trg_sessions_duration_insert AFTER INSERT ON sessions
    BEGIN UPDATE sessions SET duration_ms = {SQLITE_DURATION} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER trg_sessions_duration_update
    AFTER UPDATE OF init_timestamp, end_timestamp ON sessions
    BEGIN UPDATE sessions SET duration_ms = {SQLITE_DURATION} WHERE id = NEW.id; END""",
    """CREATE TRIGGER trg_session_stats_project AFTER INSERT ON session_stats
    WHEN NEW.project_id IS NULL
    BEGIN UPDATE session_stats
      SET project_id = (SELECT project_id FROM sessions WHERE id = NEW.session_id)
      WHERE session_id = NEW.session_id; END""",
]
SQLITE_BACKFILL = [
    "UPDATE sessions SET duration_ms = CAST(round((julianday(end_timestamp) - "
    "julianday(init_timestamp)) * 86400000.0) AS INTEGER)",
    "UPDATE session_stats SET project_id = "
    "(SELECT project_id FROM sessions WHERE sessions.id = session_stats.session_id)",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION agentops_session_duration() RETURNS trigger AS $$
    BEGIN
      NEW.duration_ms := CASE WHEN NEW.end_timestamp IS NULL THEN NULL
        ELSE round(extract(epoch FROM (NEW.end_timestamp - NEW.init_timestamp)) * 1000)::bigint
      END;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER trg_sessions_duration
    BEFORE INSERT OR UPDATE OF init_timestamp, end_timestamp ON sessions
    FOR EACH ROW EXECUTE FUNCTION agentops_session_duration()""",
    """CREATE FUNCTION agentops_session_stats_project() RETURNS trigger AS $$
    BEGIN
      IF NEW.project_id IS NULL THEN
        SELECT project_id INTO NEW.project_id FROM sessions WHERE id = NEW.session_id;
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER trg_session_stats_project BEFORE INSERT ON session_stats
    FOR EACH ROW EXECUTE FUNCTION agentops_session_stats_project()""",
]
POSTGRES_BACKFILL = [
    "UPDATE sessions SET duration_ms = round(extract(epoch FROM "
    "(end_timestamp - init_timestamp)) * 1000)::bigint WHERE end_timestamp IS NOT NULL",
    "UPDATE session_stats SET project_id = sessions.project_id FROM sessions "
    "WHERE sessions.id = session_stats.session_id",
]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.add_column("sessions", sa.Column("duration_ms", sa.BigInteger(), nullable=True))
    op.add_column("session_stats", sa.Column("project_id", sa.Text(), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in (POSTGRES_TRIGGERS + POSTGRES_BACKFILL) if postgres else (
        SQLITE_TRIGGERS + SQLITE_BACKFILL
    ):
        op.execute(statement)
    op.create_index(
        "ix_sessions_project_duration", "sessions", ["project_id", "duration_ms", "id"]
    )
    op.create_index(
        "ix_session_stats_project_cost", "session_stats", ["project_id", "cost_nanos", "session_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_session_stats_project_cost", table_name="session_stats")
    op.drop_index("ix_sessions_project_duration", table_name="sessions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_session_stats_project ON session_stats")
        op.execute("DROP TRIGGER trg_sessions_duration ON sessions")
        op.execute("DROP FUNCTION agentops_session_stats_project()")
        op.execute("DROP FUNCTION agentops_session_duration()")
    else:
        for name in (
            "trg_session_stats_project", "trg_sessions_duration_update",
            "trg_sessions_duration_insert",
        ):
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("session_stats") as batch:
        batch.drop_column("project_id")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("duration_ms")
    op.drop_table("users")
