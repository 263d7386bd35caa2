"""Sessions: create, re-attach (never wipes), update, end, auto-end and reopen."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import SessionFilter, SessionWrite
from agentops_server.storage.sql_store import SqlStore, open_store
from agentops_server.storage.store import Conflict, NotFound
from tests.conftest import require
from tests.storage.builders import Seed, at, event
from tests.support.postgres import fresh_database


def test_create_stores_every_field(seed: Seed) -> None:
    s = seed.session(
        "s1", start=5, tags=["a", "b", "a"], host_env={"OS": {"OS": "Linux"}}, video="v.mp4"
    )
    assert s.id == "s1" and s.project_id == seed.project_id
    assert s.init_timestamp == at(5)
    assert s.tags == ["a", "b"]
    assert s.host_env == {"OS": {"OS": "Linux"}}
    assert s.end_state == "Indeterminate" and s.end_timestamp is None and not s.auto_ended
    assert s.stats.events == 0
    assert seed.store.get_session(seed.project_id, "s1") == s


def test_reattach_keeps_data_merges_tags_and_earliest_start(seed: Seed) -> None:
    store = seed.store
    seed.session("s1", start=10, tags=["parent", "shared"], host_env={"h": 1})
    store.append_events([event("s1", "e1"), event("s1", "e2", event_type="tools")])
    # a second process inherits the session: own later start, only its own tags, no host env
    again = seed.session("s1", start=20, tags=["child", "shared"], host_env=None)
    assert again.init_timestamp == at(10)
    assert again.tags == ["parent", "shared", "child"]
    assert again.host_env == {"h": 1}
    assert again.stats.events == 2 and again.stats.tools == 1
    # an earlier start from a re-attach wins, and the tag filter follows it
    earlier = seed.session("s1", start=1, tags=None)
    assert earlier.init_timestamp == at(1)
    assert earlier.tags == ["parent", "shared", "child"]


def test_session_of_another_project_is_a_conflict_and_invisible(store: SqlStore) -> None:
    mine, theirs = Seed.create(store, "mine"), Seed.create(store, "theirs")
    mine.session("s1", tags=["x"])
    with pytest.raises(Conflict):
        theirs.session("s1")
    with pytest.raises(NotFound):
        store.get_session(theirs.project_id, "s1")
    with pytest.raises(NotFound):
        store.get_stats(theirs.project_id, "s1")
    with pytest.raises(NotFound):
        store.write_session(SessionWrite(id="s1", project_id=theirs.project_id), create=False)
    assert store.get_session(mine.project_id, "s1").tags == ["x"]


def test_sessions_created_together_and_read_together(store: SqlStore) -> None:
    """OTLP ingest writes a request's new traces in one transaction: each is created or
    re-attached as alone, another project's is left untouched (None), and reading many
    gives only the project's own."""
    mine, theirs = Seed.create(store, "mine"), Seed.create(store, "theirs")
    theirs.session("foreign", tags=["t"])
    mine.session("known", start=10, tags=["a"])
    writes = [
        SessionWrite(id="new", project_id=mine.project_id, init_timestamp=at(3), tags=["n"]),
        SessionWrite(id="foreign", project_id=mine.project_id, tags=["hijack"]),
        SessionWrite(id="known", project_id=mine.project_id, init_timestamp=at(5), tags=["b"]),
    ]
    new, foreign, known = store.create_sessions(writes)
    assert new is not None and new.init_timestamp == at(3) and new.tags == ["n"]
    assert new.stats.events == 0
    assert foreign is None
    assert known is not None and known.init_timestamp == at(5) and known.tags == ["a", "b"]
    assert store.get_session(theirs.project_id, "foreign").tags == ["t"]
    found = store.get_sessions(mine.project_id, ["new", "foreign", "known", "missing", "new"])
    assert found == {"new": new, "known": known}
    assert store.create_sessions([]) == []


def test_many_sessions_in_one_call_each_as_if_alone(store: SqlStore) -> None:
    """create_sessions writes new sessions together and re-attaches stored ones together:
    the result is what one create per write would give, in order, repeats of an id included
    (a later write's name, end and tags merge into the earlier one's)."""
    seed = Seed.create(store, "mine")
    seed.session("old-1", start=10, tags=["a"])
    seed.session("old-2", start=10)
    pid = seed.project_id
    writes = [
        SessionWrite(id="n-1", project_id=pid, init_timestamp=at(2), tags=["x", "x"], name="Alpha"),
        SessionWrite(id="old-1", project_id=pid, init_timestamp=at(4), tags=["b"], name="Beta"),
        SessionWrite(id="n-1", project_id=pid, init_timestamp=at(1), tags=["y"], end_state="Fail"),
        SessionWrite(id="old-2", project_id=pid, metadata={"k": "v"}),
        SessionWrite(id="n-2", project_id=pid, init_timestamp=at(3)),
    ]
    first, old_1, again, old_2, second = store.create_sessions(writes)
    assert first == again and first is not None
    assert first.init_timestamp == at(1) and first.tags == ["x", "y"] and first.name == "Alpha"
    assert first.end_state == "Fail" and first.end_timestamp is not None
    assert old_1 is not None and old_1.init_timestamp == at(4) and old_1.tags == ["a", "b"]
    assert old_1.name == "Beta"
    assert old_2 is not None and old_2.metadata == {"k": "v"} and old_2.init_timestamp == at(10)
    assert second is not None and second.tags == [] and second.stats.events == 0

    def found(**kw: object) -> list[str]:
        page = store.list_sessions(pid, SessionFilter(**kw), None, 10)  # type: ignore[arg-type]
        return sorted(s.id for s in page.sessions)

    # the tag rows and the words follow: both tags of n-1, old-1's new tag at its new start
    assert found(tags=("y",)) == found(tags=("x",)) == ["n-1"]
    assert found(tags=("b",), started_before=at(5)) == ["old-1"]
    assert found(tags=("a",), started_after=at(5)) == []
    assert found(text="alpha") == ["n-1"] and found(text="beta") == ["old-1"]


def test_a_session_created_together_is_what_reading_it_gives(store: SqlStore) -> None:
    """create_sessions answers a new session without reading it back: every field must be
    what a read gives (times in UTC, JSON columns as stored, no events yet)."""
    seed = Seed.create(store, "mine")
    plus_two = timezone(timedelta(hours=2))
    write = SessionWrite(
        id="full",
        project_id=seed.project_id,
        init_timestamp=datetime(2026, 12, 4, 12, 0, 0, 123456, tzinfo=plus_two),
        end_timestamp=datetime(2026, 12, 4, 12, 0, 5, tzinfo=plus_two),
        end_state="Fail",
        end_state_reason="boom",
        tags=["a", "b", "a"],
        host_env={"OS": {"OS": "Linux"}, "load": 0.25, "cores": [1, 2]},
        name="Run",
        metadata={"k": "v", "nested": {"n": 1.5}, "none": None},
        root_span_id="00f067aa0ba902b7",
        dropped_events={"server_down": 3},
    )
    [created] = store.create_sessions([write])
    assert created is not None
    assert store.get_sessions(seed.project_id, ["full"]) == {"full": created}
    assert created.init_timestamp.tzinfo is UTC and created.init_timestamp.hour == 10
    assert created.stats.events == 0 and created.stats.first_event_at is None


def test_repeats_of_an_id_in_one_call_keep_tag_times_and_words_of_their_own_project(
    store: SqlStore,
) -> None:
    """A tag added by an earlier write of an id starts when the session finally does (a later
    write moved its start earlier); another project's write of the id adds no search words."""
    seed, other = Seed.create(store, "mine"), Seed.create(store, "theirs")
    seed.session("s", start=10, tags=["a"], name="original")
    store.create_sessions(
        [
            SessionWrite(id="s", project_id=seed.project_id, tags=["x"]),
            SessionWrite(id="s", project_id=other.project_id, name="injected"),
            SessionWrite(id="s", project_id=seed.project_id, init_timestamp=at(1)),
        ]
    )

    def found(**kw: object) -> list[str]:
        page = store.list_sessions(seed.project_id, SessionFilter(**kw), None, 10)  # type: ignore[arg-type]
        return [s.id for s in page.sessions]

    assert found(tags=("x",), started_before=at(5)) == found(tags=("a",), started_before=at(5))
    assert found(tags=("x",), started_before=at(5)) == ["s"]
    assert found(text="original") == ["s"] and found(text="injected") == []


def test_update_sets_sent_fields_replaces_tags_and_ends(seed: Seed) -> None:
    store = seed.store
    seed.session("s1", tags=["a", "b"], video="old")
    updated = store.write_session(
        SessionWrite(id="s1", project_id=seed.project_id, tags=["c"]), create=False
    )
    assert updated.tags == ["c"] and updated.video == "old"
    ended = store.write_session(
        SessionWrite(
            id="s1",
            project_id=seed.project_id,
            end_timestamp=at(60),
            end_state="Success",
            end_state_reason="done",
        ),
        create=False,
    )
    assert (ended.end_state, ended.end_timestamp, ended.end_state_reason) == (
        "Success",
        at(60),
        "done",
    )
    with pytest.raises(NotFound):
        store.write_session(SessionWrite(id="nope", project_id=seed.project_id), create=False)


def test_final_state_without_time_gets_an_end_time(seed: Seed) -> None:
    seed.session("s1")
    ended = seed.store.write_session(
        SessionWrite(id="s1", project_id=seed.project_id, end_state="Fail"), create=False
    )
    assert ended.end_state == "Fail" and ended.end_timestamp is not None


def test_inactive_sessions_are_auto_ended_at_their_last_event(seed: Seed) -> None:
    store = seed.store
    seed.session("busy", start=0)
    seed.session("empty", start=3)
    seed.session("ended", start=0)
    store.append_events([event("busy", "e1", start=2, duration=5)])
    store.write_session(
        SessionWrite(
            id="ended", project_id=seed.project_id, end_timestamp=at(9), end_state="Success"
        ),
        create=False,
    )
    future = at(10**9)  # everything is idle as seen from far in the future
    assert store.close_inactive_sessions(future, "no end received") == 2
    busy = store.get_session(seed.project_id, "busy")
    assert busy.auto_ended and busy.end_timestamp == at(7)
    assert busy.end_state == "Indeterminate" and busy.end_state_reason == "no end received"
    assert store.get_session(seed.project_id, "empty").end_timestamp == at(3)
    assert not store.get_session(seed.project_id, "ended").auto_ended
    assert store.close_inactive_sessions(future, "again") == 0


def test_an_auto_end_never_comes_before_the_start(seed: Seed) -> None:
    """Events stamped before the session's start (a skewed clock) must not give a negative
    duration: the auto-end is then the start itself."""
    seed.session("skewed", start=100)
    seed.store.append_events([event("skewed", "early", start=10, duration=5)])
    assert seed.store.close_inactive_sessions(at(10**9), "no end received") == 1
    session = seed.store.get_session(seed.project_id, "skewed")
    assert session.end_timestamp == at(100) and session.auto_ended


def test_nothing_recent_is_auto_ended(seed: Seed) -> None:
    seed.session("s1")
    assert seed.store.close_inactive_sessions(at(-(10**6)), "idle") == 0
    assert seed.store.get_session(seed.project_id, "s1").end_timestamp is None


def test_auto_ended_session_reopens_on_new_events_and_on_reattach(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    store.close_inactive_sessions(at(10**9), "idle")
    store.append_events([event("s1", "late")])
    alive = store.get_session(seed.project_id, "s1")
    assert alive.end_timestamp is None and not alive.auto_ended
    assert alive.end_state_reason is None and alive.stats.events == 1

    store.close_inactive_sessions(at(10**9), "idle")
    again = seed.session("s1")
    assert again.end_timestamp is None and not again.auto_ended


def test_an_end_after_an_auto_end_replaces_the_sweepers_reason(seed: Seed) -> None:
    """The v2 client's end_session, or an OTLP root, after a pause longer than the inactivity
    period: the session ends as the client says, without the sweeper's "no end received"."""
    store = seed.store
    for session_id, reason in (("quiet", None), ("told", "all done")):
        seed.session(session_id)
        store.close_inactive_sessions(at(10**9), "no end received")
        ended = store.write_session(
            SessionWrite(
                id=session_id,
                project_id=seed.project_id,
                end_state="Success",
                end_state_reason=reason,
            ),
            create=False,
        )
        assert (ended.end_state, ended.end_state_reason) == ("Success", reason)
        assert not ended.auto_ended and ended.end_timestamp is not None


def test_agents_upsert(seed: Seed) -> None:
    store = seed.store
    seed.session("s1")
    store.upsert_agent("s1", "a1", "planner")
    store.upsert_agent("s1", "a1", None)  # a nameless repeat keeps the name
    store.upsert_agent("s1", "a2", "coder")
    store.upsert_agent("s1", "a2", "reviewer")
    assert [(a.id, a.name) for a in store.list_agents("s1")] == [
        ("a1", "planner"),
        ("a2", "reviewer"),
    ]
    with pytest.raises(NotFound):
        store.upsert_agent("missing", "a1", "x")


def test_two_processes_updating_one_session_at_once_lose_nothing_on_postgresql(
    postgres_ok: bool,
) -> None:
    """Two writers (two server processes) read a session to write it back: the second must
    read only after the first committed. A third connection holds the row while both start;
    once it lets go, both tags must be there (with a lock that let both read at once, the
    second write put back what it had read, without the first one's tag)."""
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    with fresh_database() as url:
        upgrade(url)
        stores = [open_store(url), open_store(url)]
        try:
            seed = Seed.create(stores[0])
            session_id = str(uuid.uuid4())
            first = SessionWrite(id=session_id, project_id=seed.project_id, tags=["owner"])
            stores[0].write_session(first, create=True)
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as held:
                held.execute("SELECT 1 FROM sessions WHERE id = %s FOR UPDATE", (session_id,))
                writes = [
                    threading.Thread(
                        target=store.write_session,
                        args=(
                            SessionWrite(
                                id=session_id,
                                project_id=seed.project_id,
                                tags=[f"child-{n}"],
                                attached=True,
                            ),
                        ),
                        kwargs={"create": False},
                    )
                    for n, store in enumerate(stores)
                ]
                for write in writes:
                    write.start()
                deadline = time.monotonic() + 30
                while _waiting_for_a_lock(held) < 2:  # both writers are at the row
                    assert time.monotonic() < deadline, "the writers never reached the row"
                    time.sleep(0.01)
                held.rollback()  # lets go of the row
            for write in writes:
                write.join(timeout=30)
            tags = stores[0].get_session(seed.project_id, session_id).tags
        finally:
            for store in stores:
                store.close()
    assert sorted(tags) == ["child-0", "child-1", "owner"]


def _waiting_for_a_lock(conn: psycopg.Connection[Any]) -> int:
    with psycopg.connect(conn.info.dsn, autocommit=True) as watcher:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0
