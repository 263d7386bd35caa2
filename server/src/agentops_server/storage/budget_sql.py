"""The SQL of project budgets: the limits, and a project's spend in a UTC day and month.

`BudgetSql` is mixed into SqlStore. The spend is the sum of the cost of the project's events
whose start falls in the period, as the export API reports each event's cost. It is read
from the exact per-session totals (session_stats) of the sessions that lie wholly in the
period, and from the events of the few that straddle its start, so a read costs about one row
per session of the month rather than one per event.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Connection, and_, case, delete, insert, not_, or_, select

from agentops_server.storage.budget_records import ProjectBudget, ProjectSpend
from agentops_server.storage.schema import (
    events,
    project_budgets,
    projects,
    session_stats,
    sessions,
)
from agentops_server.storage.store import NotFound
from agentops_server.storage.wide_sums import joined, wide_sum

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
        """Cost of the project's events that started in [day) and in [month) (nano-USD).

        A session whose events all lie in the period adds its exact stats total (no event is
        read); only the events of sessions that straddle the period's start are summed."""
        (month_start, month_end), (day_start, day_end) = month, day
        stats = session_stats.c
        # a session with an event that started in the month has its last event (the latest
        # end or start) in or after it, or, for an event that ends before it starts, received
        # something since the month began
        candidates = (
            select(
                stats.session_id,
                stats.cost_nanos,
                stats.first_event_at,
                stats.last_event_at,
                sessions.c.last_activity_at,
            )
            .join(sessions, sessions.c.id == stats.session_id)
            .where(
                stats.project_id == project_id,
                or_(stats.last_event_at >= month_start, sessions.c.last_activity_at >= month_start),
            )
            .cte("candidates")
        )
        c = candidates.c
        # every event of the session lies in the period: first start and last end inside it
        whole_month = and_(c.first_event_at >= month_start, c.last_event_at < month_end)
        whole_day = and_(c.first_event_at >= day_start, c.last_event_at < day_end)
        touches_day = or_(c.last_event_at >= day_start, c.last_activity_at >= day_start)
        from_stats = select(
            *wide_sum(case((whole_day, c.cost_nanos), else_=0), "day"),
            *wide_sum(case((whole_month, c.cost_nanos), else_=0), "month"),
        )
        event_in_day = and_(events.c.init_timestamp >= day_start, events.c.init_timestamp < day_end)
        partial_month = or_(not_(whole_month), whole_month.is_(None))
        partial_day = and_(or_(not_(whole_day), whole_day.is_(None)), touches_day)
        from_events = (
            select(
                *wide_sum(
                    case((and_(partial_day, event_in_day), events.c.cost_nanos), else_=0), "day"
                ),
                *wide_sum(case((partial_month, events.c.cost_nanos), else_=0), "month"),
            )
            .select_from(candidates.join(events, events.c.session_id == c.session_id))
            .where(
                or_(partial_month, partial_day),
                events.c.init_timestamp >= month_start,
                events.c.init_timestamp < month_end,
                events.c.cost_nanos.is_not(None),
            )
        )
        with self._read() as conn:
            whole = joined(conn.execute(from_stats.select_from(candidates)).mappings().one())
            partial = joined(conn.execute(from_events).mappings().one())
        return ProjectSpend(
            day_nanos=whole["day"] + partial["day"], month_nanos=whole["month"] + partial["month"]
        )
