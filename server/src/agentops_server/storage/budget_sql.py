"""The SQL of project budgets: the limits, and a project's spend in a UTC day and month.

`BudgetSql` is mixed into SqlStore. The spend is the sum of the cost of the project's events
whose start falls in the period, as the export API reports each event's cost; it is read
through the sessions with a last event or activity in the month, so a month's spend reads
those sessions' events of the month only.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Connection, and_, case, delete, func, insert, or_, select

from agentops_server.storage.budget_records import ProjectBudget, ProjectSpend
from agentops_server.storage.schema import (
    events,
    project_budgets,
    projects,
    session_stats,
    sessions,
)
from agentops_server.storage.store import NotFound

T = TypeVar("T")


class BudgetSql:
    """The budget methods of SqlStore (which provides `_read`, `_transact`, `dialect`)."""

    dialect: str

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _transact(self, work: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    def get_budget(self, project_id: str) -> ProjectBudget:
        """The project's limits (none set: both None); NotFound for an unknown project."""
        query = (
            select(
                projects.c.id,
                project_budgets.c.daily_limit_nanos,
                project_budgets.c.monthly_limit_nanos,
                project_budgets.c.updated_at,
            )
            .select_from(projects.outerjoin(project_budgets))
            .where(projects.c.id == project_id)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return ProjectBudget(project_id, row[1], row[2], row[3])

    def set_budget(
        self, project_id: str, daily_limit_nanos: int | None, monthly_limit_nanos: int | None
    ) -> ProjectBudget:
        """Replace the project's two limits (None clears one); NotFound for an unknown project."""
        now = datetime.now(UTC)

        def work(conn: Connection) -> None:
            found = conn.execute(select(projects.c.id).where(projects.c.id == project_id))
            if found.first() is None:
                raise NotFound(f"project {project_id} not found")
            conn.execute(delete(project_budgets).where(project_budgets.c.project_id == project_id))
            if daily_limit_nanos is None and monthly_limit_nanos is None:
                return
            conn.execute(
                insert(project_budgets).values(
                    project_id=project_id,
                    daily_limit_nanos=daily_limit_nanos,
                    monthly_limit_nanos=monthly_limit_nanos,
                    updated_at=now,
                )
            )

        self._transact(work)
        if daily_limit_nanos is None and monthly_limit_nanos is None:
            return ProjectBudget(project_id)
        return ProjectBudget(project_id, daily_limit_nanos, monthly_limit_nanos, now)

    def project_spend(
        self, project_id: str, day: tuple[datetime, datetime], month: tuple[datetime, datetime]
    ) -> ProjectSpend:
        """Cost of the project's events that started in [day) and in [month) (nano-USD)."""
        month_start, month_end = month
        day_start, day_end = day
        # a session with an event that started in the month has its last event (the latest
        # end or start) in or after it, or, for an event that ends before it starts, received
        # something since the month began
        active = (
            select(session_stats.c.session_id)
            .join(sessions, sessions.c.id == session_stats.c.session_id)
            .where(
                session_stats.c.project_id == project_id,
                or_(
                    session_stats.c.last_event_at >= month_start,
                    sessions.c.last_activity_at >= month_start,
                ),
            )
        )
        in_day = and_(events.c.init_timestamp >= day_start, events.c.init_timestamp < day_end)
        query = select(
            func.coalesce(func.sum(case((in_day, events.c.cost_nanos), else_=0)), 0),
            func.coalesce(func.sum(events.c.cost_nanos), 0),
        ).where(
            events.c.session_id.in_(active),
            events.c.init_timestamp >= month_start,
            events.c.init_timestamp < month_end,
            events.c.cost_nanos.is_not(None),
        )
        with self._read() as conn:
            row = conn.execute(query).one()
        return ProjectSpend(day_nanos=int(row[0]), month_nanos=int(row[1]))
