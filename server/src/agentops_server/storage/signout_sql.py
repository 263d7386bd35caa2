"""The SQL of server-side sign-out: ended dashboard sign-ins and "sign out everywhere".

`SignOutSql` is mixed into SqlStore. Dashboard cookies are signed and stateless; these rows are
the only state that lets the server refuse one after its user signed out.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Connection, delete, select, update

from agentops_server.storage.appends import insert_ignore
from agentops_server.storage.schema import dashboard_signouts, users
from agentops_server.storage.store import NotFound

T = TypeVar("T")


class SignOutSql:
    """The sign-out methods of SqlStore (which provides `_read`, `_transact`, `dialect`)."""

    dialect: str

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _transact(self, work: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    def end_dashboard_session(self, session_id: str, expires_at: datetime) -> None:
        """Refuse this sign-in from now on; rows whose cookie has expired anyway are dropped."""

        def work(conn: Connection) -> None:
            now = datetime.now(UTC)
            conn.execute(delete(dashboard_signouts).where(dashboard_signouts.c.expires_at < now))
            statement = insert_ignore(self.dialect, dashboard_signouts).values(
                session_id=session_id, expires_at=expires_at
            )
            conn.execute(statement.on_conflict_do_nothing())

        self._transact(work)

    def dashboard_session_ended(self, session_id: str) -> bool:
        query = select(dashboard_signouts.c.session_id).where(
            dashboard_signouts.c.session_id == session_id
        )
        with self._read() as conn:
            return conn.execute(query).first() is not None

    def end_all_dashboard_sessions(self, user_id: str) -> int:
        """Sign the account out everywhere: its next generation; returns it."""

        def work(conn: Connection) -> int:
            done = conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(signin_generation=users.c.signin_generation + 1)
                .returning(users.c.signin_generation)
            )
            row = done.first()
            if row is None:
                raise NotFound(f"account {user_id} not found")
            return int(row[0])

        return self._transact(work)
