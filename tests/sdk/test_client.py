"""Client and Session details users touch: properties, helpers, failures that stay harmless."""

from __future__ import annotations

import asyncio
import contextvars
import enum
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic
import pytest

import agentops
from agentops._client import NoopClient
from agentops._encode import dumps
from agentops._exporter import parse_cost
from agentops._recording import record_event
from agentops._session import format_duration
from agentops._transport import Request, Response
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import run_script, script_env


def in_memory(**kwargs: Any) -> tuple[agentops.Session, InMemoryTransport]:
    transport = InMemoryTransport(token_cost="0.25")
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport, **kwargs)
    assert session is not None
    return session, transport


def test_noop_client_answers_everything_harmlessly() -> None:
    client = NoopClient()
    assert client.start_session() is None
    assert client.end_session("Success") is None
    client.record(agentops.ActionEvent())
    client.add_tags(["a"])
    client.set_tags(["a"])
    assert client.create_agent("a") is None
    client.end_all_sessions()
    client.initialize()
    assert client.flush() is True
    assert (client.has_sessions, client.is_multi_session, client.session_count) == (False, False, 0)
    assert client.current_session_ids == [] and client.api_key is None
    assert client.parent_key is None and client.dropped_events >= 0


def test_client_properties_and_default_tags() -> None:
    parent = str(uuid.uuid4())
    session, _ = in_memory(parent_key=parent, default_tags=["base"])
    client = agentops.get_client()
    assert isinstance(client, agentops.Client)
    assert client.is_initialized and client.has_sessions
    assert [client.is_multi_session, client.session_count] == [False, 1]
    assert client.current_session_ids == [str(session.session_id)]
    assert client.parent_key == parent
    client.add_default_tags(["more"])
    assert client.get_default_tags() == ["base", "more"]
    second = client.start_session(tags=["own"])
    assert second is not None and second.tags == ["base", "more", "own"]
    assert [client.is_multi_session, client.session_count] == [True, 2]
    assert repr(second).endswith("running>")


def test_the_parent_key_goes_only_on_create_session() -> None:
    parent = str(uuid.uuid4())
    session, transport = in_memory(parent_key=parent)
    session.end_session("Success")
    assert [p for p, _ in transport.requests][0] == "/v2/create_session"


def test_session_helpers_patch_video_flush_now_and_after_end() -> None:
    session, transport = in_memory()
    seen: dict[str, Any] = {}

    def call(**kwargs: Any) -> None:
        seen.update(kwargs)

    session.patch(call)(x=1)
    assert seen == {"x": 1, "session": session}
    session.set_video("http://video")
    session.record(agentops.ActionEvent(action_type="now"), flush_now=True)
    assert [e["action_type"] for e in transport.events] == ["now"]
    assert session.end_session("Success") == Decimal("0.25")
    assert transport.sessions[str(session.session_id)]["video"] == "http://video"
    assert session.get_analytics()["Cost"] == "0.250000"
    session.record(agentops.ActionEvent(action_type="late"))  # ignored: the session ended
    assert session.create_agent("late-agent")  # an id, nothing sent
    assert agentops.flush()
    assert [e["action_type"] for e in transport.events] == ["now"]
    assert transport.agents == []


def test_failed_updates_and_agents_are_logged_not_raised() -> None:
    session, transport = in_memory()
    assert agentops.flush()
    transport.fail_next(400, 400)
    session.add_tags("x")
    session.create_agent("refused")
    assert agentops.flush()
    assert transport.agents == []
    session.end_session("Success")
    assert transport.sessions[str(session.session_id)]["tags"] == ["x"]  # the final snapshot


def test_record_event_routes_explicitly_and_drops_without_session() -> None:
    record_event(agentops.ActionEvent(action_type="nowhere"))  # no session: dropped quietly
    session, transport = in_memory()
    other = agentops.start_session()
    assert other is not None
    record_event(agentops.ActionEvent(action_type="explicit"), session)
    session.end_session("Success")
    other.end_session("Success")
    assert [e["action_type"] for e in transport.events_of(session.session_id)] == ["explicit"]


def test_parse_cost_accepts_what_servers_send() -> None:
    assert parse_cost("0.0012345678") == Decimal("0.0012345678")
    assert parse_cost(0.5) == Decimal("0.5")
    assert parse_cost(None) == parse_cost("unknown") == parse_cost(True) == Decimal(0)
    assert parse_cost("NaN") == Decimal(0)


class Color(enum.Enum):
    RED = "red"


class Model(pydantic.BaseModel):
    name: str


class BrokenModel:
    def model_dump(self) -> dict[str, Any]:
        raise RuntimeError("cannot dump")

    def __repr__(self) -> str:
        return "<BrokenModel>"


def test_encoding_of_library_objects() -> None:
    encoded = dumps(
        {
            "enum": Color.RED,
            "bytes": b"abc",
            "error": ValueError("nope"),
            "model": Model(name="m"),
            "broken": BrokenModel(),
            "frozen": frozenset({1}),
            "big": Decimal("Infinity"),
        }
    )
    assert encoded == (
        b'{"enum":"red","bytes":"abc","error":"ValueError: nope","model":{"name":"m"},'
        b'"broken":"<BrokenModel>","frozen":[1],"big":null}'
    )


def test_stop_instrumenting_is_safe_to_call() -> None:
    agentops.stop_instrumenting()
    agentops.stop_instrumenting()


def test_logging_to_file_when_asked(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import agentops
        agentops.init()
        """,
        env=script_env(AGENTOPS_LOGGING_TO_FILE="true"),
    )
    assert done.returncode == 0
    log = (tmp_path / "agentops.log").read_text()
    assert "WARNING - Could not initialize AgentOps client - API Key is missing" in log


def test_configuration_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="flush_timeout"):
        agentops.Configuration(flush_timeout=-1)
    with pytest.raises(ValueError, match="log_level"):
        agentops.Configuration(log_level="LOUD")
    assert agentops.Configuration(log_level="debug").log_level == "DEBUG"


def test_durations_read_like_agentops() -> None:
    assert format_duration(1.74) == "1.7s"
    assert format_duration(123.0) == "2m 3.0s"
    assert format_duration(3605.2) == "1h 0m 5.2s"


def test_response_helpers_tolerate_odd_answers() -> None:
    assert Response(200, b"not json").json() is None
    assert Response(200).json() is None
    assert Response(429, headers={"retry-after": "Wed, 21 Oct 2015"}).retry_after is None
    assert Response(429, headers={"retry-after": "2"}).retry_after == 2.0


def test_end_session_gives_up_after_flush_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOPS_FLUSH_TIMEOUT", "0.3")
    transport = InMemoryTransport()
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    assert session is not None
    assert agentops.flush(timeout=15)  # the start is sent (the 0.3 s is for end_session)
    transport.fail_next(*[0] * 1000)  # the server is gone
    assert session.end_session("Success") is None  # didn't hang; the worker keeps trying
    transport.clear_failures()
    assert agentops.flush(timeout=15)
    assert transport.sessions[str(session.session_id)]["end_state"] == "Success"


def test_in_memory_transport_checks_credentials() -> None:
    transport = InMemoryTransport()
    base = "http://127.0.0.1:1"
    assert transport.send(Request(base, "/v2/create_events", b"{}")).status == 401
    headers = {"X-Agentops-Api-Key": "k", "Authorization": "Bearer nope"}
    assert transport.send(Request(base, "/v2/create_events", b"{}", headers)).status == 401
    session = b'{"session": {"session_id": "s"}}'
    token = transport.send(
        Request(base, "/v2/create_session", session, {"X-Agentops-Api-Key": "k"})
    )
    headers["Authorization"] = f"Bearer {token.json()['jwt']}"
    assert transport.send(Request(base, "/v2/nothing", b"{}", headers)).status == 404


def test_session_exited_in_another_context_does_not_break() -> None:
    session, transport = in_memory()

    async def enter() -> None:
        session.__enter__()

    async def leave() -> None:
        session.__exit__(None, None, None)

    async def main() -> None:
        await asyncio.create_task(enter())
        await asyncio.create_task(leave())

    asyncio.run(main())
    assert not session.is_running
    assert transport.sessions[str(session.session_id)]["end_state"] == "Success"


def test_decorators_on_odd_callables(caplog: pytest.LogCaptureFixture) -> None:
    session, transport = in_memory()
    biggest = agentops.record_action("max")(max)  # a builtin without a signature
    assert biggest(3, 7, key=None) == 7

    @agentops.record_tool()
    def strict(a: int) -> int:
        return a

    with pytest.raises(TypeError):
        strict(1, 2)  # type: ignore[call-arg]
    assert agentops.track_agent()(42) == 42  # not a class or function: unchanged

    @agentops.track_agent("gen")
    class WithGenerator:
        def numbers(self) -> Any:
            yield 1

    assert list(WithGenerator().numbers()) == [1]
    other = agentops.start_session()
    assert other is not None
    ctx = contextvars.Context()  # no current session there, two running
    assert ctx.run(agentops.create_agent, "ambiguous")  # warned, not sent
    session.end_session("Success")
    other.end_session("Success")
    events = transport.events_of(session.session_id)
    assert events[0]["params"] == {"args": [3, 7], "key": None} and events[0]["returns"] == 7
    assert events[1]["params"] == {"args": [1, 2]} and events[2]["error_type"] == "TypeError"
    assert [a["name"] for a in transport.agents] == ["gen"]


class Touchy:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name} here")

    def __repr__(self) -> str:
        return "<Touchy>"


def test_decorated_result_with_a_raising_getattr() -> None:
    session, transport = in_memory()

    @agentops.record_action("touchy")
    def make() -> Touchy:
        return Touchy()

    assert isinstance(make(), Touchy)
    session.end_session("Success")
    assert transport.events_of(session.session_id)[0]["returns"] == "<Touchy>"


def test_client_configure_and_host_env() -> None:
    client = agentops.Client()
    client.configure(env_data_opt_out=True, max_wait_time=None)
    assert client.config.env_data_opt_out is True
    assert client.host_env is not None and "CPU" not in client.host_env
    session, _ = in_memory()
    default = agentops.get_client()
    default.configure(max_wait_time=7)  # locked: a session is running
    assert default.config.max_wait_time != 7
    session.end_session("Success")
