"""Records of project budgets that cross the Store boundary. No SQL, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ProjectBudget:
    """A project's cost limits in nano-USD per UTC day and month; None: no limit."""

    project_id: str
    daily_limit_nanos: int | None = None
    monthly_limit_nanos: int | None = None
    updated_at: datetime | None = None  # None: never set

    @property
    def has_limit(self) -> bool:
        return self.daily_limit_nanos is not None or self.monthly_limit_nanos is not None


@dataclass(frozen=True, slots=True)
class ProjectSpend:
    """The cost of a project's events (nano-USD) that started in a UTC day and in its month."""

    day_nanos: int
    month_nanos: int
