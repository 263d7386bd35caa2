"""`agentops prices` and `agentops reprice` on real databases, SQLite and PostgreSQL (click's
CliRunner, in process)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from click.testing import CliRunner
from genai_prices import Usage, calc_price

from agentops_server.cli import main
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import CostSource, EventWrite, SessionWrite, usd_to_nanos
from agentops_server.storage.sql_store import SqlStore, open_store

WHEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[tuple[str, SqlStore]]:
    url = database_url
    upgrade(url)
    store = open_store(url)
    try:
        yield url, store
    finally:
        store.close()


def new_session(store: SqlStore, project_id: str) -> str:
    write = SessionWrite(id=str(uuid.uuid4()), project_id=project_id, init_timestamp=WHEN)
    return store.write_session(write, create=True).id


def llm(session_id: str, model: str, tokens: tuple[int | None, int | None]) -> EventWrite:
    """An LLM event as ingestion stored it before any override existed."""
    return EventWrite(
        id=str(uuid.uuid4()),
        session_id=session_id,
        event_type="llms",
        init_timestamp=WHEN,
        end_timestamp=WHEN,
        agent_id=None,
        name=model,
        model=model,
        provider=None,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        cache_read_tokens=None,
        cache_write_tokens=None,
        reasoning_tokens=None,
        cost_nanos=None,
        cost_source=CostSource.UNKNOWN_MODEL,
        payload={},
    )


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_prices_set_list_delete(db: tuple[str, SqlStore]) -> None:
    url, store = db
    project = store.create_project("p").id
    run("prices", "set", "my-ft", "--input", "1.5", "--output", "6", "--database-url", url)
    listed = json.loads(run("prices", "list", "--json", "--database-url", url))
    assert listed == {
        "project_id": project,
        "data": [
            {
                "model": "my-ft",
                "input_per_mtok": "1.5",
                "output_per_mtok": "6",
                "cache_read_per_mtok": None,
                "cache_write_per_mtok": None,
            }
        ],
    }
    assert "my-ft" in run("prices", "list", "--database-url", url)
    run("prices", "delete", "my-ft", "--database-url", url)
    assert json.loads(run("prices", "list", "--json", "--database-url", url))["data"] == []


def test_prices_reject_bad_input(db: tuple[str, SqlStore]) -> None:
    url, store = db
    store.create_project("a")
    store.create_project("b")
    bad_money = ["prices", "set", "m", "--input", "-1", "--output", "1", "--project", "x"]
    result = CliRunner().invoke(main, [*bad_money, "--database-url", url])
    assert result.exit_code == 2 and "must be a finite amount >= 0" in result.output
    result = CliRunner().invoke(main, ["prices", "list", "--database-url", url])
    assert result.exit_code == 1 and "several projects exist" in result.output
    result = CliRunner().invoke(
        main, ["prices", "delete", "nope", "--project", "zz", "--database-url", url]
    )
    assert result.exit_code == 1 and "no project with id or name 'zz'" in result.output


def test_reprice_applies_a_new_override_to_stored_events_and_session_totals(
    db: tuple[str, SqlStore],
) -> None:
    url, store = db
    project = store.create_project("p").id
    session = new_session(store, project)
    store.append_events(
        [
            llm(session, "my-ft", (1_000_000, 100_000)),
            llm(session, "my-ft", (2_000, 1_000)),
            llm(session, "gpt-4o", (1200, 300)),
            llm(session, "my-ft", (None, None)),  # streamed without usage: stays unknown
        ]
    )
    run("prices", "set", "my-ft", "--input", "3", "--output", "12", "--database-url", url)
    output = run("reprice", "--database-url", url)
    assert "4 LLM events checked, 4 re-priced (1 now of unknown cost)" in output

    costs = [(e.model, e.cost_nanos, e.cost_source) for e in store.iter_events(session)]
    gpt4o = calc_price(
        Usage(input_tokens=1200, output_tokens=300), "gpt-4o", genai_request_timestamp=WHEN
    )
    assert sorted(costs, key=repr) == sorted(
        [
            ("my-ft", 4_200_000_000, "override"),  # $3 + 0.1M x $12
            ("my-ft", 18_000_000, "override"),
            ("gpt-4o", usd_to_nanos(gpt4o.total_price), "computed"),
            ("my-ft", None, "unknown_tokens"),
        ],
        key=repr,
    )
    stats = store.get_stats(project, session)
    assert stats.cost_nanos == sum(c for _, c, _ in costs if c is not None)
    assert stats.unknown_cost_events == 1
    assert Decimal(stats.cost_nanos) / 10**9 > Decimal("4.2")

    # a second run finds nothing to change
    assert "4 LLM events checked, 0 re-priced" in run("reprice", "--database-url", url)


def test_reprice_applies_an_override_to_the_dated_snapshots_of_its_name(
    db: tuple[str, SqlStore],
) -> None:
    url, store = db
    project = store.create_project("p").id
    session = new_session(store, project)
    store.append_events([llm(session, "gpt-4o-mini-2024-07-18", (1_000_000, 0))])
    run("prices", "set", "gpt-4o-mini", "--input", "3", "--output", "12", "--database-url", url)
    assert "1 LLM events checked, 1 re-priced" in run("reprice", "--database-url", url)
    [event] = store.iter_events(session)
    assert (event.cost_nanos, event.cost_source) == (3_000_000_000, "override")
