"""An event's id and times are made lazily (issue 15: <= 2 us per event on the agent's path),
yet a user sees what an eagerly made event would show: one id, the one sent and exported,
whenever it is read, and the times of the calls (creation, record) whenever they are read."""

from __future__ import annotations

import dataclasses
import inspect
import os
import pickle
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import agentops
from agentops import _events
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import export, start
from tests.support.server import ServerProcess

EVENT_CLASSES = (
    agentops.ActionEvent,
    agentops.LLMEvent,
    agentops.ToolEvent,
    agentops.ErrorEvent,
)


def stored_ids(data: dict[str, Any]) -> list[str]:
    return [e["id"] for kind in ("actions", "llms", "tools", "errors") for e in data[kind]]


def _sent(event: agentops.ActionEvent) -> dict[str, Any]:
    """What the SDK sends for `event`, recorded alone in a session of its own."""
    transport = InMemoryTransport()
    session = agentops.init(
        api_key=str(uuid.uuid4()), transport=transport, instrument_llm_calls=False
    )
    assert session is not None
    session.record(event)
    session.end_session("Success")
    (wire,) = transport.events_of(session.session_id)
    return wire


def test_an_id_read_before_after_or_never_is_the_one_sent_and_exported(
    server: ServerProcess,
) -> None:
    session = start(server)
    read_first = agentops.ActionEvent(action_type="read-before-record")
    id_before = read_first.id
    read_later = agentops.ToolEvent(name="read-after-record")
    never_read = agentops.LLMEvent(model="gpt-4o-mini", prompt_tokens=1, completion_tokens=1)
    for event in (read_first, read_later, never_read):
        session.record(event)
    id_after = read_later.id
    assert session.end_session("Success") is not None
    # never_read's id was first read by the exporter: the user now reads that one
    expected = {str(id_before), str(id_after), str(never_read.id)}
    assert len(expected) == 3
    assert read_first.id == id_before and read_later.id == id_after
    assert sorted(stored_ids(export(server, session.session_id))) == sorted(expected)
    assert all(isinstance(e.id, uuid.UUID) and e.id.version == 4 for e in (read_first, never_read))


def test_the_same_event_recorded_twice_is_stored_once(server: ServerProcess) -> None:
    session = start(server)
    event = agentops.ActionEvent(action_type="twice")
    session.record(event)
    agentops.flush()
    session.record(event)  # the exporter read its id already: the same id again
    session.end_session("Success")
    assert stored_ids(export(server, session.session_id)) == [str(event.id)]


def read_after(gate: threading.Barrier, event: agentops.Event, into: list[uuid.UUID]) -> None:
    gate.wait()
    into.append(event.id)


def test_threads_reading_a_new_event_s_id_first_all_get_the_same_one() -> None:
    for _ in range(20):
        event = agentops.ActionEvent()
        gate = threading.Barrier(8)
        seen: list[uuid.UUID] = []
        threads = [threading.Thread(target=read_after, args=(gate, event, seen)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(seen) == 8 and set(seen) == {event.id}


def test_ids_made_in_many_threads_are_unique() -> None:
    made: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def make(into: list[uuid.UUID]) -> None:
        into.extend(agentops.ActionEvent().id for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({i for ids in made for i in ids}) == 20_000


def test_a_child_forked_while_an_id_was_being_made_can_make_ids() -> None:
    """The lock that makes a decorated call's id once is new in a forked child (it may have
    been held at fork time); an event's id needs none."""
    parent_id = agentops.ActionEvent().id
    with _events._id_lock:  # held by this thread at fork time, as another thread might
        pid = os.fork()
        if pid == 0:  # the child: a deadlock here ends it by the alarm (exit code != 0)
            import signal

            signal.alarm(10)
            child_id = agentops.ActionEvent().id
            frame = _events.Frame("actions", "call", None, None, None, None)
            os._exit(0 if len({child_id, frame.id, parent_id}) == 3 else 3)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child hung making an id")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0


def test_times_are_those_of_the_calls_whoever_reads_them_and_when() -> None:
    transport = InMemoryTransport()
    session = agentops.init(
        api_key=str(uuid.uuid4()), transport=transport, instrument_llm_calls=False
    )
    assert session is not None
    before_create = datetime.now(UTC)
    event = agentops.ActionEvent(action_type="timed")
    after_create = datetime.now(UTC)
    time.sleep(0.05)
    before_record = datetime.now(UTC)
    session.record(event)
    after_record = datetime.now(UTC)
    time.sleep(0.05)
    session.end_session("Success")
    time.sleep(0.05)
    init = datetime.fromisoformat(event.init_timestamp)  # first read: after all that
    assert event.end_timestamp is not None
    end = datetime.fromisoformat(event.end_timestamp)
    ms = timedelta(milliseconds=1)  # the clocks' rounding
    assert before_create - ms <= init <= after_create + ms
    assert before_record - ms <= end <= after_record + ms
    (wire,) = transport.events_of(session.session_id)
    assert (wire["init_timestamp"], wire["end_timestamp"]) == (
        event.init_timestamp,
        event.end_timestamp,
    )
    assert wire["id"] == str(event.id)


def test_given_ids_and_times_are_kept_and_record_does_not_replace_an_end() -> None:
    given_id = uuid.uuid4()
    event = agentops.ActionEvent(
        action_type="given",
        id=given_id,
        init_timestamp="2025-01-02T03:04:05+00:00",
        end_timestamp="2025-01-02T03:04:06+00:00",
    )
    assert event.id == given_id
    wire = _sent(event)
    assert wire["id"] == str(given_id)
    assert wire["init_timestamp"] == event.init_timestamp == "2025-01-02T03:04:05+00:00"
    assert wire["end_timestamp"] == event.end_timestamp == "2025-01-02T03:04:06+00:00"


def test_setting_the_fields_after_creation_behaves_as_for_a_plain_dataclass() -> None:
    event = agentops.ActionEvent()
    new_id = uuid.uuid4()
    event.id = new_id
    event.end_timestamp = "2025-01-02T03:04:06+00:00"
    assert (event.id, event.end_timestamp) == (new_id, "2025-01-02T03:04:06+00:00")
    event.end_timestamp = None
    assert event.end_timestamp is None
    before = datetime.now(UTC)
    event.init_timestamp = cast(Any, None)  # None: now, as at creation
    assert datetime.fromisoformat(event.init_timestamp) >= before - timedelta(milliseconds=1)
    event.id = cast(Any, None)  # None: a new one when read
    assert isinstance(event.id, uuid.UUID) and event.id != new_id


def test_the_generated_init_has_the_dataclass_signature() -> None:
    for cls in EVENT_CLASSES:
        params = list(inspect.signature(cls).parameters.values())
        fields = dataclasses.fields(cls)
        assert [p.name for p in params] == [f.name for f in fields]
        for param, field in zip(params, fields, strict=True):
            if field.default_factory is not dataclasses.MISSING:
                assert repr(param.default) == "<factory>"
            else:
                assert param.default == field.default
    positional = agentops.ActionEvent("actions", {"q": 1}, "r")
    assert (positional.params, positional.returns) == ({"q": 1}, "r")
    assert agentops.Event("custom").event_type == "custom"


def test_a_user_dataclass_subclass_works_as_ours_do() -> None:
    @dataclasses.dataclass
    class Lookup(agentops.ActionEvent):
        table: str = "users"

    event = Lookup(action_type="lookup")
    assert event.table == "users" and event.end_timestamp is None
    assert datetime.fromisoformat(event.init_timestamp).tzinfo is not None
    wire = _sent(event)
    assert (wire["table"], wire["action_type"], wire["id"]) == ("users", "lookup", str(event.id))
    assert wire["end_timestamp"] == event.end_timestamp is not None


def test_a_recorded_event_pickles_with_its_id_and_times() -> None:
    event = agentops.ActionEvent(action_type="a")
    transport = InMemoryTransport()
    session = agentops.init(
        api_key=str(uuid.uuid4()), transport=transport, instrument_llm_calls=False
    )
    assert session is not None
    session.record(event)
    copy = pickle.loads(pickle.dumps(event))
    assert copy == event
    assert (copy.id, copy.init_timestamp, copy.end_timestamp) == (
        event.id,
        event.init_timestamp,
        event.end_timestamp,
    )
    session.end_session("Success")
    assert dataclasses.asdict(copy) == dataclasses.asdict(event)


def test_a_subclass_redeclaring_the_times_as_plain_fields_sends_them() -> None:
    @dataclasses.dataclass
    class Fixed(agentops.ActionEvent):
        init_timestamp: str = "2025-01-01T00:00:00.000000+00:00"
        end_timestamp: str | None = "2025-01-01T00:00:02.000000+00:00"

    wire = _sent(Fixed(action_type="fixed"))
    assert wire["init_timestamp"] == "2025-01-01T00:00:00.000000+00:00"
    assert wire["end_timestamp"] == "2025-01-01T00:00:02.000000+00:00"
