"""Schema migrations, run programmatically (the server at start, `agentops db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from agentops_server.storage.engine import create_admin_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at our migrations; no alembic.ini needed anywhere."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


class SchemaTooNew(Exception):
    """The database was migrated by a newer agentops, whose revision this one does not know
    (Alembic's own words: "Can't locate revision identified by '0010'")."""

    def __init__(self, revision: str) -> None:
        super().__init__(
            f"this database's schema (revision {revision}) is newer than this agentops "
            f"({head_revision()}): upgrade agentops, or restore the backup made before the "
            "upgrade"
        )
        self.revision = revision


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the newest); SchemaTooNew if a
    newer agentops migrated it."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as connection:
            _refuse_a_newer_schema(connection)
            connection.rollback()  # the migrations run in a transaction of their own
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None for an empty (unmigrated) database."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def check_not_newer(database_url: str) -> None:
    """SchemaTooNew if a newer agentops migrated the database (for commands that read it
    without migrating it)."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as connection:
            _refuse_a_newer_schema(connection)
    finally:
        engine.dispose()


def _refuse_a_newer_schema(connection: Connection) -> None:
    found = MigrationContext.configure(connection).get_current_revision()
    if found is not None and not known_revision(found):
        raise SchemaTooNew(found)


def known_revision(revision: str) -> bool:
    """Whether `revision` is one of this version's migrations (not a newer version's)."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic's ResolutionError and CommandError: an unknown revision
        return False


def head_revision() -> str | None:
    """The newest revision this version of the server knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
