"""Project budgets: a daily and a monthly cost limit per project, and whether one is reached.

A limit is reached when the project's spend in the UTC day (or month) is at least the limit.
While one is, every answer to an authenticated ingest request carries the two headers below
(api/budget_headers.py); our SDK then refuses the next LLM call, agentops 0.3 ignores them.
`BudgetWatch` keeps each project's status for `budget_check_seconds` (default 5) so that
ingestion reads the database at most once per project per process in that time.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.concurrency import run_in_threadpool

from agentops_server.queries import format_usd
from agentops_server.remembered import Remembered
from agentops_server.storage.budget_records import ProjectBudget, ProjectSpend
from agentops_server.storage.records import NANOS_PER_USD
from agentops_server.storage.store import NotFound, Store
from agentops_server.timestamps import iso

EXCEEDED_HEADER = "X-AgentOps-Budget-Exceeded"
MESSAGE_HEADER = "X-AgentOps-Budget-Message"
MAX_LIMIT_USD = Decimal(1_000_000_000)
DAILY, MONTHLY = "daily", "monthly"
LIMIT_TEXT = re.compile(r"0*[1-9][0-9]{0,8}(\.[0-9]+)?|0*1000000000(\.0+)?|0*\.[0-9]*[1-9][0-9]*")
"""A limit written as a decimal string: more than 0 and at most 1,000,000,000 (USD)."""
KNOWN_PROJECTS = 10_000
"""Projects whose status a process keeps at once (beyond: it forgets all and reads again)."""


class BadLimit(ValueError):
    """A limit that is not a positive amount of USD; the message says why."""


def limit_nanos(value: object) -> int | None:
    """A limit in USD, a JSON number or a decimal string written like 12.50 (exactly what the
    REST API's schema allows), as nano-USD rounded up: a positive limit stays positive. None
    means no limit. BadLimit says what is wrong, without naming the field."""
    if value is None:
        return None
    if isinstance(value, str):
        usd = _decimal(value)
        if usd is not None and LIMIT_TEXT.fullmatch(value):
            return math.ceil(usd * NANOS_PER_USD)
        if usd is None or not usd.is_finite():
            raise BadLimit(f"must be an amount of USD like 10 or 12.50, got {value[:40]!r}")
        _check_range(usd, value)
        raise BadLimit(f"must be written like 10 or 12.50, got {value[:40]!r}")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise BadLimit(f"must be an amount of USD like 10 or 12.50, got {value!r:.40}")
    usd = _decimal(repr(value) if isinstance(value, float) else str(value))
    if usd is None or not usd.is_finite():
        raise BadLimit(f"must be an amount of USD like 10 or 12.50, got {value!r:.40}")
    _check_range(usd, value)
    return math.ceil(usd * NANOS_PER_USD)


def parse_limit(name: str, typed: object) -> int | None:
    """A limit as people type it (CLI, dashboard): spaces, a leading `$` and thousands commas
    are fine; empty means no limit. BadLimit names `name`."""
    if isinstance(typed, str):
        typed = typed.strip().removeprefix("$").replace(",", "") or None
    try:
        return limit_nanos(typed)
    except BadLimit as exc:
        raise BadLimit(f"{name} {exc}") from None


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _check_range(usd: Decimal, given: object) -> None:
    if usd <= 0:
        raise BadLimit(f"must be more than 0 USD, got {given!r:.40}")
    if usd > MAX_LIMIT_USD:
        raise BadLimit(f"must be at most {MAX_LIMIT_USD:,} USD, got {given!r:.40}")


def usd_text(nanos: int) -> str:
    """$10.00, $0.0042: cents, or as many decimals (up to 9) as the amount needs."""
    usd = Decimal(nanos) / NANOS_PER_USD
    if usd == usd.quantize(Decimal("0.01")):
        return f"${usd:,.2f}"
    return "$" + f"{usd:,.9f}".rstrip("0")


def day_of(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def month_of(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    following = date(now.year + now.month // 12, now.month % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A project's limits, its spend today and this month (UTC), and which limits are reached."""

    budget: ProjectBudget
    spend: ProjectSpend
    day: date
    exceeded: tuple[str, ...]
    message: str

    @property
    def headers(self) -> dict[str, str]:
        """The signal for SDKs: no header while within the limits."""
        if not self.exceeded:
            return {}
        return {EXCEEDED_HEADER: ", ".join(self.exceeded), MESSAGE_HEADER: self.message}


def status_of(budget: ProjectBudget, spend: ProjectSpend, now: datetime) -> BudgetStatus:
    exceeded: list[str] = []
    sentences: list[str] = []
    day, month = now.date().isoformat(), f"{now:%Y-%m}"
    daily, monthly = budget.daily_limit_nanos, budget.monthly_limit_nanos
    if daily is not None and spend.day_nanos >= daily:
        exceeded.append(DAILY)
        sentences.append(
            f"the project's daily budget of {usd_text(daily)} is reached "
            f"({usd_text(spend.day_nanos)} spent on {day} UTC)"
        )
    if monthly is not None and spend.month_nanos >= monthly:
        exceeded.append(MONTHLY)
        sentences.append(
            f"the project's monthly budget of {usd_text(monthly)} is reached "
            f"({usd_text(spend.month_nanos)} spent in {month} UTC)"
        )
    return BudgetStatus(budget, spend, now.date(), tuple(exceeded), "; ".join(sentences))


def status_json(status: BudgetStatus) -> dict[str, Any]:
    """The status as the REST API, the dashboard's JSON twin and the CLI show it."""
    budget, spend = status.budget, status.spend
    return {
        "daily_limit_usd": format_usd(budget.daily_limit_nanos),
        "monthly_limit_usd": format_usd(budget.monthly_limit_nanos),
        "updated_at": None if budget.updated_at is None else iso(budget.updated_at),
        "today": {"date": status.day.isoformat(), "spent_usd": format_usd(spend.day_nanos)},
        "this_month": {"month": f"{status.day:%Y-%m}", "spent_usd": format_usd(spend.month_nanos)},
        "exceeded": list(status.exceeded),
        "message": status.message or None,
    }


def read_status(store: Store, project_id: str, *, with_spend: bool = True) -> BudgetStatus:
    """The project's status now, read from the store (NotFound for an unknown project).
    with_spend=False skips adding up the spend of a project without limits (the signal)."""
    moment = datetime.now(UTC)
    budget = store.get_budget(project_id)
    if not budget.has_limit and not with_spend:
        spend = ProjectSpend(0, 0)
    else:
        spend = store.project_spend(project_id, day_of(moment), month_of(moment))
    return status_of(budget, spend, moment)


class BudgetWatch:
    """Each project's budget signal, kept `seconds` long per process (0: read every time).

    Concurrent requests of one project share one read. A change made through this process
    (REST, dashboard) is seen at once; one made elsewhere (CLI, another worker) within `seconds`.
    """

    def __init__(self, store: Store, seconds: float) -> None:
        self._store = store
        self._seconds = seconds
        self._known: Remembered[str, tuple[float, dict[str, str]]] = Remembered(KNOWN_PROJECTS)
        self._reading: dict[str, asyncio.Future[dict[str, str]]] = {}

    async def headers(self, project_id: str) -> dict[str, str]:
        """The headers for an answer of the project's ingest request ({} within its limits)."""
        known = self._known.get(project_id)
        if known is not None and time.monotonic() < known[0]:
            return known[1]
        reading = self._reading.get(project_id)
        if reading is not None:
            return await asyncio.shield(reading)
        future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self._reading[project_id] = future
        try:
            found = await run_in_threadpool(self._read, project_id)
        except BaseException as exc:
            if self._reading.get(project_id) is future:
                del self._reading[project_id]
            # requests waiting for this read get an error (never this task's cancellation)
            failure = exc if isinstance(exc, Exception) else RuntimeError("budget read cut off")
            future.set_exception(failure)
            future.exception()  # retrieved: no "never retrieved" warning if none waits
            raise
        future.set_result(found)
        if self._reading.get(project_id) is future:  # else forget() came during the read
            del self._reading[project_id]
            if self._seconds > 0:
                self._known.keep(project_id, (time.monotonic() + self._seconds, found))
        return found

    def _read(self, project_id: str) -> dict[str, str]:
        try:
            return read_status(self._store, project_id, with_spend=False).headers
        except NotFound:
            return {}

    def forget(self, project_id: str) -> None:
        """The project's limits changed here: the next answer reads them again."""
        self._known.pop(project_id, None)
        self._reading.pop(project_id, None)  # a read under way is answered, not kept
