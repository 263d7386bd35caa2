"""Bad settings never crash the host: init() logs what it ignores, repairs what is clear, and
the agent goes on recording to the server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

import agentops
from tests.sdk.conftest import LogLines, export, init_only
from tests.support.server import ServerProcess


def test_an_endpoint_without_scheme_means_http(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOPS_API_ENDPOINT", urlsplit(server.url).netloc)  # "127.0.0.1:P"
    session = agentops.init(api_key=server.api_key, instrument_llm_calls=False)
    assert session is not None
    assert session.config.endpoint == server.url
    assert session.end_session("Success") == 0
    assert export(server, session.session_id)["session"]["end_state"] == "Success"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENTOPS_MAX_QUEUE_SIZE", "abc"),
        ("AGENTOPS_MAX_WAIT_TIME", "-5"),
        ("AGENTOPS_FLUSH_TIMEOUT", "soon"),
        ("AGENTOPS_LOGGING_LEVEL", "LOUD"),
    ],
)
def test_a_bad_environment_variable_is_ignored_with_an_error(
    server: ServerProcess,
    monkeypatch: pytest.MonkeyPatch,
    agentops_log: LogLines,
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    session = agentops.init(api_key=server.api_key, endpoint=server.url, instrument_llm_calls=False)
    assert variable in agentops_log.text
    assert session is not None
    defaults = agentops.Configuration()
    assert (session.config.max_queue_size, session.config.max_wait_time) == (
        defaults.max_queue_size,
        defaults.max_wait_time,
    )
    session.record(agentops.ActionEvent(action_type="still recorded"))
    session.end_session("Success")
    assert len(export(server, session.session_id)["actions"]) == 1


def test_bad_arguments_are_ignored_or_repaired(
    server: ServerProcess, agentops_log: LogLines
) -> None:
    init_only(server, default_tags=5, max_queue_size=-1, max_wait_time="often")
    assert "max_queue_size" in agentops_log.text and "max_wait_time" in agentops_log.text
    session = agentops.start_session(tags="one", config=5)  # type: ignore[arg-type]
    assert "expects an agentops.Configuration, got int" in agentops_log.text
    assert session is not None
    assert session.tags == ["5", "one"]  # default_tags=5: one tag
    agentops.configure(max_queue_size="lots")  # type: ignore[arg-type]  # sessions run: locked
    session.end_session("Success")
    agentops.configure(max_queue_size="lots")  # type: ignore[arg-type]
    assert agentops.get_client().config.max_queue_size == agentops.Configuration().max_queue_size
    assert export(server, session.session_id)["session"]["tags"] == ["5", "one"]
