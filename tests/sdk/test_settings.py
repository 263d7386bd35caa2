"""Bad settings never crash the host: init() logs what it ignores, repairs what is clear, and
the agent goes on recording to the server."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

import agentops
from agentops._transport import HttpTransport, Request, TransportError
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
        # endless, NaN or absurd waits, which used to overflow the timers in end_session()
        ("AGENTOPS_FLUSH_TIMEOUT", "inf"),
        ("AGENTOPS_FLUSH_TIMEOUT", "1e300"),
        ("AGENTOPS_FLUSH_TIMEOUT", "nan"),
        ("AGENTOPS_SHUTDOWN_TIMEOUT", "inf"),
        ("AGENTOPS_MAX_WAIT_TIME", str(10**15)),
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
    config = session.config
    assert (
        config.max_queue_size,
        config.max_wait_time,
        config.flush_timeout,
        config.shutdown_timeout,
    ) == (
        defaults.max_queue_size,
        defaults.max_wait_time,
        defaults.flush_timeout,
        defaults.shutdown_timeout,
    )
    session.record(agentops.ActionEvent(action_type="still recorded"))
    assert session.end_session("Success") == 0
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


def test_endless_waits_in_code_are_ignored_or_refused(agentops_log: LogLines) -> None:
    agentops.configure(max_wait_time=10**15)
    assert "ERROR Ignoring the setting max_wait_time" in agentops_log.text
    assert agentops.get_client().config.max_wait_time == agentops.Configuration().max_wait_time
    for value in (float("inf"), float("nan"), 1e300):  # built by hand: raises, as documented
        with pytest.raises(ValueError, match="flush_timeout"):
            agentops.Configuration(flush_timeout=value)
        with pytest.raises(ValueError, match="shutdown_timeout"):
            agentops.Configuration(shutdown_timeout=value)


@pytest.mark.parametrize("endpoint", ["http://[::1", "http://127.0.0.1:port", "http://:8000"])
def test_an_endpoint_that_is_not_a_url_is_a_bad_setting(
    monkeypatch: pytest.MonkeyPatch, agentops_log: LogLines, endpoint: str
) -> None:
    """httpx refused such a URL with an error the exporter did not catch: every event was
    lost without a word. Now it is refused at init(), naming it, and the default applies."""
    key = str(uuid.uuid4())
    agentops.init(api_key=key, endpoint=endpoint, auto_start_session=False)
    refused = f"endpoint must be an http(s) URL, got {endpoint!r}"
    assert f"ERROR Ignoring the setting endpoint: {refused}" in agentops_log.text
    assert agentops.get_client().config.endpoint == agentops.Configuration().endpoint
    monkeypatch.setenv("AGENTOPS_API_ENDPOINT", endpoint)
    agentops.init(api_key=key, auto_start_session=False)
    assert f"ERROR Ignoring the setting AGENTOPS_API_ENDPOINT: {refused}" in agentops_log.text
    assert agentops.get_client().config.endpoint == agentops.Configuration().endpoint


def test_a_url_httpx_cannot_use_is_a_failed_delivery() -> None:
    """What reaches the transport anyway (a spool file's endpoint) fails like a refused
    connection: the exporter retries and spools it, and the spool keeps its file."""
    transport = HttpTransport(timeout=5)
    with pytest.raises(TransportError, match="InvalidURL"):
        transport.send(Request("http://[::1/v2/create_events", "/v2/create_events", b"{}"))
    transport.close()
