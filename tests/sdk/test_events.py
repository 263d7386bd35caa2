"""Events: 0.3.26's fields and defaults, our extensions, and how they reach the server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import agentops
from agentops._encode import dumps, sanitize
from tests.sdk.conftest import export, start
from tests.support.server import ServerProcess


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_fields_and_defaults_match_0_3_26() -> None:
    base = ["event_type", "params", "returns", "init_timestamp", "end_timestamp", "agent_id"]
    base += ["id", "session_id", "parent_id"]  # parent_id: our extension, the nesting
    assert field_names(agentops.Event) == base
    assert field_names(agentops.ActionEvent) == [*base, "action_type", "logs", "screenshot"]
    assert field_names(agentops.ToolEvent) == [*base, "name", "logs", "cost"]
    assert field_names(agentops.LLMEvent) == [
        *base,
        *("thread_id", "prompt", "prompt_tokens", "completion", "completion_tokens", "cost"),
        *("model", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "provider"),
    ]
    assert field_names(agentops.ErrorEvent) == [
        *base,
        *("trigger_event", "exception", "error_type", "code", "details", "logs"),
    ]
    event = agentops.ActionEvent()
    assert event.event_type == "actions" and event.end_timestamp is None
    assert isinstance(event.id, uuid.UUID) and event.id.version == 4
    assert dt.datetime.fromisoformat(event.init_timestamp).tzinfo is not None
    assert agentops.LLMEvent().event_type == "llms"
    assert agentops.ToolEvent().event_type == "tools"


def test_error_event_from_an_exception() -> None:
    try:
        raise KeyError("missing")
    except KeyError as exc:
        error = agentops.ErrorEvent(exception=exc)
    assert error.error_type == "KeyError"
    assert error.details == "'missing'"
    assert error.logs is not None and "KeyError: 'missing'" in error.logs
    assert error.exception is None and error.end_timestamp is not None
    assert error.timestamp == error.init_timestamp
    assert agentops.ErrorEvent().logs is None  # no "NoneType: None" noise


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")


def test_error_event_from_a_message_string_as_0_3_26_took() -> None:
    error = agentops.ErrorEvent(exception="boom")  # type: ignore[arg-type]
    assert error.details == "boom" and error.exception is None and error.logs is None
    odd = agentops.ErrorEvent(exception=_Unprintable())  # type: ignore[arg-type]
    assert odd.details == "<_Unprintable>"


def test_ids_are_unique_and_not_affected_by_random_seed() -> None:
    import random

    random.seed(42)
    first = agentops.ActionEvent().id
    random.seed(42)
    assert agentops.ActionEvent().id != first
    assert len({agentops.ActionEvent().id for _ in range(10_000)}) == 10_000


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_wire_encoding_of_awkward_values(server: ServerProcess) -> None:
    session = start(server)
    trigger = agentops.ActionEvent(action_type="fetch")
    session.record(trigger)
    params: dict[Any, Any] = {
        "nan": float("nan"),
        "inf": float("-inf"),
        "when": dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "price": Decimal("1.25"),
        "opaque": Opaque(),
        "point": Point(1, 2),
        "tuple": (1, 2),
        "set": {"only"},
        7: "int key",
        "uid": uuid.UUID(int=1),
    }
    session.record(agentops.ActionEvent(action_type="odd", params=params))
    session.record(agentops.ErrorEvent(trigger_event=trigger, error_type="Timeout", details="slow"))
    session.record(agentops.ToolEvent(name="calc", returns=Point(3, 4)))
    session.end_session("Success")
    data = export(server, session.session_id)
    odd = next(a for a in data["actions"] if a["action_type"] == "odd")["params"]
    assert odd["nan"] is None and odd["inf"] is None
    assert odd["when"] == "2025-01-02T03:04:05+00:00"
    assert odd["price"] == 1.25
    assert odd["opaque"] == "<Opaque thing>"  # readable, not "" as in 0.3.26
    assert odd["point"] == {"x": 1, "y": 2}
    assert odd["tuple"] == [1, 2] and odd["set"] == ["only"]
    assert odd["7"] == "int key"
    assert odd["uid"] == str(uuid.UUID(int=1))
    error = data["errors"][0]
    assert error["trigger_event_id"] == str(trigger.id)
    assert error["trigger_event_type"] == "actions"
    assert error["error_type"] == "Timeout"
    assert data["tools"][0]["returns"] == {"x": 3, "y": 4}


def test_llm_extensions_reach_the_server(server: ServerProcess) -> None:
    session = start(server)
    session.record(
        agentops.LLMEvent(
            model="gpt-4o",
            provider="openai",
            prompt="hello",
            completion="world",
            prompt_tokens=1000,
            completion_tokens=500,
            cache_read_tokens=800,
            reasoning_tokens=100,
        )
    )
    session.end_session("Success")
    llm = export(server, session.session_id)["llms"][0]
    assert (llm["cache_read_tokens"], llm["reasoning_tokens"], llm["provider"]) == (
        800,
        100,
        "openai",
    )


def test_cycles_and_deep_values_do_not_break_encoding() -> None:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    deep: list[Any] = []
    cursor = deep
    for _ in range(200):
        cursor.append([])
        cursor = cursor[0]
    encoded = dumps({"loop": loop, "deep": deep, "bytes": b"\xffok"})
    assert encoded.startswith(b"{")
    assert sanitize({"k": float("nan")}) == {"k": None}


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_values_whose_repr_fails() -> None:
    assert b"unrepresentable" in dumps({"v": BrokenRepr()})
