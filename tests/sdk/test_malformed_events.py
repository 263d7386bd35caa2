"""Careless events against a real server: a wrong value is repaired or left out, the event's
batch-mates always arrive, and what cannot be sent is dropped alone and counted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import agentops
from agentops import _outcome
from tests.sdk.conftest import LogLines, export, init_only, start, stats
from tests.support.server import ServerProcess


@pytest.mark.parametrize(
    ("kind", "fields", "kept"),
    [
        ("LLMEvent", {"model": "gpt-4o-mini", "prompt_tokens": "12", "completion_tokens": 3}, 3),
        ("LLMEvent", {"model": "gpt-4o-mini", "prompt_tokens": 12.5, "completion_tokens": 3}, 3),
        ("LLMEvent", {"model": "gpt-4o-mini", "prompt_tokens": 2**62, "completion_tokens": 0}, 3),
        ("ActionEvent", {"action_type": "x", "init_timestamp": "yesterday"}, 3),
        # refused by the server for a reason the SDK does not check: alone, and counted
        ("ActionEvent", {"action_type": {"not": "a name"}}, 2),
    ],
    ids=["str-tokens", "fractional-tokens", "too-many-tokens", "bad-timestamp", "refused"],
)
def test_one_malformed_event_does_not_lose_the_good_ones(
    server: ServerProcess, kind: str, fields: dict[str, Any], kept: int
) -> None:
    bad = getattr(agentops, kind)(**fields)
    session = start(server)
    dropped = agentops.get_client().dropped_events
    session.record(agentops.ActionEvent(action_type="good-before"))
    session.record(bad)
    session.record(agentops.ActionEvent(action_type="good-after"))
    session.end_session("Success")
    stored = export(server, session.session_id)
    names = [e["action_type"] for e in stored["actions"]]
    assert "good-before" in names and "good-after" in names
    assert len(stored["actions"]) + len(stored["llms"]) == kept
    assert agentops.get_client().dropped_events - dropped == 3 - kept


def test_token_counts_and_cost_are_coerced_when_the_meaning_is_clear(
    server: ServerProcess,
) -> None:
    session = start(server)
    session.record(
        agentops.LLMEvent(
            model="gpt-4o-mini",
            prompt_tokens="12",  # type: ignore[arg-type]
            completion_tokens=3.0,  # type: ignore[arg-type]
            reasoning_tokens=1.5,  # type: ignore[arg-type]
            cost="0.25",  # type: ignore[arg-type]
            init_timestamp=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),  # type: ignore[arg-type]
        )
    )
    session.end_session("Success")
    llm = export(server, session.session_id)["llms"][0]
    assert (llm["prompt_tokens"], llm["completion_tokens"]) == (12, 3)
    assert llm["reasoning_tokens"] is None  # 1.5 tokens means nothing: left out
    assert (llm["cost"], llm["cost_source"]) == ("0.25", "reported")
    assert llm["init_timestamp"] == "2025-01-02T03:04:05+00:00"


class NoText:
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    "bad",
    [
        agentops.ErrorEvent(trigger_event="the call that failed"),  # type: ignore[arg-type]
        agentops.ActionEvent,  # the class: a forgotten "()"
        agentops.ActionEvent(id=NoText()),  # type: ignore[arg-type]  # fails to encode
    ],
    ids=["trigger-not-an-event", "class-not-instance", "unencodable"],
)
def test_an_event_that_cannot_be_encoded_does_not_lose_the_batch(
    server: ServerProcess, bad: Any
) -> None:
    session = start(server)
    dropped = agentops.get_client().dropped_events
    session.record(agentops.ActionEvent(action_type="good-before"))
    session.record(bad)
    session.record(agentops.ActionEvent(action_type="good-after"))
    session.end_session("Success")
    stored = export(server, session.session_id)
    names = [e["action_type"] for e in stored["actions"]]
    assert sorted(names) == ["good-after", "good-before"]
    if isinstance(bad, agentops.ErrorEvent):  # kept, without a link to a trigger event
        (error,) = stored["errors"]
        assert error["trigger_event_id"] is None
    if isinstance(bad, agentops.ActionEvent):  # dropped alone, and counted
        assert agentops.get_client().dropped_events - dropped == 1
    assert agentops.ActionEvent.end_timestamp is None  # record(the class) did not change it


def test_an_event_the_server_cannot_take_does_not_hold_up_other_sessions(
    server: ServerProcess,
) -> None:
    """A call priced at millions of USD: whether the server stores it, refuses it (4xx) or
    fails on it (500), the other session's events and end arrive, and end_session returns."""
    init_only(server)
    poisoned = agentops.start_session(tags=["poisoned"])
    bystander = agentops.start_session(tags=["bystander"])
    assert poisoned is not None and bystander is not None
    poisoned.record(
        agentops.LLMEvent(model="gpt-4", prompt_tokens=10**12, completion_tokens=10**12)
    )
    for _ in range(10):
        bystander.record(agentops.ActionEvent(action_type="unrelated work"))
    assert bystander.end_session("Success") == 0
    stored = export(server, bystander.session_id)
    assert len(stored["actions"]) == 10
    assert stored["session"]["end_state"] == "Success"


class ChangesItsOwner:
    """A value whose text, as the encoder asks for it, adds a key to the dict holding it: the
    program changing an event's params while the SDK's thread encodes them."""

    def __init__(self, owner: dict[str, Any], changes: int) -> None:
        self.owner, self.changes = owner, changes

    def __repr__(self) -> str:
        if self.changes:
            self.changes -= 1
            self.owner[f"added-{self.changes}"] = True
        return "changing"


def test_params_the_program_changes_while_they_are_sent_lose_no_other_event(
    server: ServerProcess,
) -> None:
    """A dict changed as it is encoded ("dictionary changed size during iteration") is tried
    again; one that keeps changing is dropped alone and counted, its batch-mates arrive."""
    session = start(server)
    dropped = agentops.get_client().dropped_events
    # NaN sends the batch to the encoder's slow path, which reads the dicts as they change
    once: dict[str, Any] = {"score": float("nan")}
    once["value"] = ChangesItsOwner(once, changes=1)
    always: dict[str, Any] = {"score": float("nan")}
    always["value"] = ChangesItsOwner(always, changes=10**6)
    session.record(agentops.ActionEvent(action_type="changed-once", params=once))
    session.record(agentops.ActionEvent(action_type="keeps-changing", params=always))
    session.record(agentops.ActionEvent(action_type="plain"))
    session.end_session("Success")
    stored = export(server, session.session_id)
    assert sorted(e["action_type"] for e in stored["actions"]) == ["changed-once", "plain"]
    assert stored["session"]["end_state"] == "Success"
    assert stored["session"]["dropped_events"] == {"unencodable": 1}
    assert agentops.get_client().dropped_events - dropped == 1


def test_an_ended_session_leaves_no_loss_count_behind(
    server: ServerProcess, agentops_log: LogLines
) -> None:
    """The worker kept each session's losses, by reason, for the life of the process: a
    process running session after session, each losing an event, kept them all. A session's
    count is dropped once its final update reported it; its stats line still says it."""
    init_only(server)
    client = agentops.get_client()
    assert isinstance(client, agentops.Client)
    for i in range(3):
        session = agentops.start_session(tags=[f"run-{i}"])
        assert session is not None
        session.record(agentops.ActionEvent(action_type={"not": "a name"}))  # type: ignore[arg-type]
        session.record(agentops.ActionEvent(action_type="kept"))
        assert session.end_session("Success") is not None
        assert stats(server, session.session_id)["dropped_events"] == {"refused": 1}
        assert agentops_log.lines[-1].endswith("| Not recorded: 1 (refused: 1)")
        assert str(session.session_id) not in client.worker.losses
    assert client.worker.losses == {}
    # an event lost after its session's end was reported (sent behind the end update, which
    # went ahead of a backlog) is counted for the process, not kept for the ended session
    assert session is not None
    client.worker.account(_outcome.dropped(1, _outcome.QUEUE_FULL, str(session.session_id)))
    assert client.worker.losses == {}
    assert client.dropped_events == 4  # the process's own total is kept
