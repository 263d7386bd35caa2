"""What careless field values become on the wire (agentops.testing.InMemoryTransport keeps it):
a value whose meaning is clear is converted, anything else is left out, the event is sent."""

from __future__ import annotations

import copy
import pickle
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

import agentops
from agentops.testing import InMemoryTransport


class IndexLike:
    """An int-like value from a library (numpy.int64 and friends implement __index__)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


class BrokenIndex:
    def __index__(self) -> int:
        raise RuntimeError("not today")


def sent(*events: agentops.Event) -> list[dict[str, Any]]:
    """The wire form of `events`, recorded into one session."""
    transport = InMemoryTransport()
    session = agentops.init(
        api_key=str(uuid.uuid4()), transport=transport, instrument_llm_calls=False
    )
    assert session is not None
    for event in events:
        session.record(event)
    assert session.end_session("Success") is not None
    return transport.events_of(session.session_id)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (IndexLike(7), 7),
        ("twelve", None),
        (BrokenIndex(), None),
        (-3, None),
        (True, None),
    ],
    ids=["index-like", "words", "broken-index", "negative", "bool"],
)
def test_token_counts_are_converted_or_left_out(given: Any, kept: int | None) -> None:
    (llm,) = sent(agentops.LLMEvent(model="m", prompt_tokens=given, completion_tokens=2))
    assert llm["prompt_tokens"] == kept
    assert llm["completion_tokens"] == 2


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (" 0.5 ", "0.5"),
        (0.25, 0.25),
        (True, None),
        ("a lot", None),
        (object(), None),
        (float("inf"), None),
        (-1, None),
        (10**10, None),
    ],
    ids=["text", "float", "bool", "words", "object", "infinite", "negative", "too-large"],
)
def test_reported_costs_are_converted_or_left_out(given: Any, kept: Any) -> None:
    (llm,) = sent(agentops.LLMEvent(model="m", cost=given))
    assert llm["cost"] == kept


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (1_700_000_000, "2023-11-14T22:13:20+00:00"),  # epoch seconds
        (1_700_000_000_500, "2023-11-14T22:13:20.500000+00:00"),  # epoch milliseconds
        (" 2025-01-02T03:04:05+00:00 ", "2025-01-02T03:04:05+00:00"),
        (1e300, None),  # no such date
    ],
    ids=["epoch-s", "epoch-ms", "padded-iso", "out-of-range"],
)
def test_timestamps_are_converted_or_left_out(given: Any, kept: str | None) -> None:
    (action,) = sent(agentops.ActionEvent(action_type="a", init_timestamp=given))
    assert action["init_timestamp"] == kept
    assert action["action_type"] == "a"


def test_an_event_made_with_no_start_time_starts_when_it_was_made() -> None:
    """init_timestamp=None is the default: now (kept as a number until it is read or sent)."""
    before = datetime.now(UTC)
    event = agentops.ActionEvent(action_type="a", init_timestamp=cast(Any, None))
    (action,) = sent(event)
    started = datetime.fromisoformat(action["init_timestamp"])
    assert before - timedelta(milliseconds=1) <= started <= datetime.now(UTC)
    assert event.init_timestamp == action["init_timestamp"]
    assert action["id"] == str(event.id) and event.id == event.id


def test_a_copied_or_pickled_event_is_the_same_event() -> None:
    """The id is made lazily: a copy made before it was read must still share it."""
    event = agentops.ActionEvent(action_type="a")
    copies = [copy.copy(event), copy.deepcopy(event), pickle.loads(pickle.dumps(event))]
    assert all(c == event and c.id == event.id for c in copies)
    assert {action["id"] for action in sent(*copies)} == {str(event.id)}


def test_odd_event_types_and_dict_keys_still_encode() -> None:
    params: dict[Any, Any] = {(1, 2): "tuple key", None: 1}
    action = agentops.ActionEvent(action_type="keys", params=params)
    action.event_type = agentops.EventType.ACTION  # the enum instead of its value
    (wire_action,) = sent(action)
    assert wire_action["event_type"] == "actions"
    assert wire_action["params"] == {"(1, 2)": "tuple key", "null": 1}
