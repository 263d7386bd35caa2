"""budgets.py on a real SQLite store: limits parsed from what users type, amounts as the
message shows them, and each process's cached budget signal (AGENTOPS_BUDGET_CHECK_SECONDS)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentops_server.budgets import (
    EXCEEDED_HEADER,
    MESSAGE_HEADER,
    BadLimit,
    BudgetWatch,
    parse_limit,
    usd_text,
)
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import SqlStore, open_store
from tests.storage.builders import Seed, event


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    url = f"sqlite:///{tmp_path / 'agentops.sqlite3'}"
    upgrade(url)
    opened = open_store(url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("typed", "nanos"),
    [
        ("10", 10_000_000_000),
        (" $1,012.50 ", 1_012_500_000_000),
        ("0.000000001", 1),
        ("0.0000000001", 1),  # rounded up: a positive limit stays positive
        (".5", 500_000_000),
        ("1000000000", 10**18),
        (3, 3_000_000_000),
        (0.25, 250_000_000),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_limits_are_read_as_people_type_them(typed: object, nanos: int | None) -> None:
    assert parse_limit("daily", typed) == nanos


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("-1", "daily must be more than 0 USD, got '-1'"),
        (0, "daily must be more than 0 USD, got 0"),
        ("0.000", "daily must be more than 0 USD"),
        ("ten", "daily must be an amount of USD like 10 or 12.50, got 'ten'"),
        ("inf", "daily must be an amount of USD like 10 or 12.50"),
        ("NaN", "daily must be an amount of USD like 10 or 12.50"),
        (float("nan"), "daily must be an amount of USD like 10 or 12.50"),
        ("1e3", "daily must be written like 10 or 12.50, got '1e3'"),
        ("1000000000.01", "daily must be at most 1,000,000,000 USD"),
        (True, "daily must be an amount of USD"),
        ([1], "daily must be an amount of USD"),
    ],
)
def test_bad_limits_say_what_is_wrong(typed: object, problem: str) -> None:
    with pytest.raises(BadLimit, match=re.escape(problem)):
        parse_limit("daily", typed)


def test_amounts_show_cents_or_the_decimals_they_need() -> None:
    assert usd_text(10_000_000_000) == "$10.00"
    assert usd_text(10_420_000_000) == "$10.42"
    assert usd_text(1_234_567_000_000_000) == "$1,234,567.00"
    assert usd_text(4_200_000) == "$0.0042"
    assert usd_text(0) == "$0.00"


def reached(store: SqlStore) -> str:
    """A project whose daily limit ($0.000001) is reached by today's $0.000002."""
    seed = Seed.create(store, f"p-{uuid.uuid4()}")
    session = seed.session()
    now = datetime.now(UTC)
    store.append_events([replace(event(session.id, cost_nanos=2_000), init_timestamp=now)])
    store.set_budget(seed.project_id, 1_000, None)
    return seed.project_id


def test_a_process_keeps_the_signal_for_its_seconds_unless_told(store: SqlStore) -> None:
    project = reached(store)

    async def scenario() -> None:
        watch = BudgetWatch(store, seconds=3600)
        first = await watch.headers(project)
        assert first[EXCEEDED_HEADER] == "daily"
        assert first[MESSAGE_HEADER].startswith("the project's daily budget of $0.000001 is")
        store.set_budget(project, None, None)  # elsewhere: the CLI, another worker
        assert (await watch.headers(project))[EXCEEDED_HEADER] == "daily"  # within its seconds
        watch.forget(project)  # a change through this process
        assert await watch.headers(project) == {}
        assert await watch.headers("no-such-project") == {}

    asyncio.run(scenario())


def test_concurrent_answers_share_one_reading(store: SqlStore) -> None:
    project = reached(store)

    async def scenario() -> None:
        watch = BudgetWatch(store, seconds=0)  # 0: read for every answer
        answers = await asyncio.gather(*(watch.headers(project) for _ in range(20)))
        assert all(a[EXCEEDED_HEADER] == "daily" for a in answers)
        store.set_budget(project, None, 1_000)
        assert (await watch.headers(project))[EXCEEDED_HEADER] == "monthly"

    asyncio.run(scenario())
