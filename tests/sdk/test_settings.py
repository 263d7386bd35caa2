"""Settings: every one documented with a name is a keyword of init() and configure(), and
bad ones never crash the host: init() logs what it ignores, repairs what is clear, and the
agent goes on recording to the server."""

from __future__ import annotations

import inspect
import re
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import agentops
from agentops._config import _ENV_OF_FIELD
from agentops._transport import HttpTransport, Request, TransportError
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import REPO_ROOT, LogLines, export, init_only, run_script, script_env
from tests.support.server import ServerProcess, free_port


def documented_settings() -> dict[str, str]:
    """docs/sdk.md's settings table: each setting named in its first column, and its variable
    ("-" when it has none)."""
    docs = (REPO_ROOT / "docs" / "sdk.md").read_text()
    table = docs.split("| setting | variable | default |", 1)[1].split("\n\n", 1)[0]
    settings: dict[str, str] = {}
    for row in table.strip().splitlines()[1:]:
        first, variable = (cell.strip() for cell in row.strip("|").split("|")[:2])
        names = re.match(r"((?:`\w+`(?:, )?)+)", first)  # "log level of the ..." names none
        for name in re.findall(r"`(\w+)`", names.group(1)) if names else ():
            settings[name] = variable.strip("`")
    return settings


def test_every_documented_setting_is_a_keyword_of_init_and_configure() -> None:
    """The table promises "argument, then environment variable": configure(flush_timeout=10)
    raised TypeError, and so did init(spool_dir=...) and configure(max_tokens=...)."""
    settings = documented_settings()
    assert {"api_key", "flush_timeout", "shutdown_timeout", "spool_dir", "max_tokens"} <= set(
        settings
    )
    for function in (agentops.init, agentops.configure):
        parameters = inspect.signature(function).parameters
        missing = [name for name in settings if name not in parameters]
        assert missing == [], f"{function.__name__}() lacks {missing}"
    for name, variable in settings.items():
        assert name in agentops.Configuration.__dataclass_fields__, name
        assert variable == _ENV_OF_FIELD.get(name, "-"), name


@pytest.mark.parametrize("where", ["init", "configure"])
def test_flush_timeout_given_in_code_bounds_end_session(where: str) -> None:
    transport = InMemoryTransport()
    if where == "configure":
        agentops.configure(flush_timeout=0.3, max_llm_calls=2, spool=False)
        session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    else:
        session = agentops.init(
            api_key=str(uuid.uuid4()), transport=transport, flush_timeout=0.3, spool=False
        )
    assert session is not None
    assert session.config.flush_timeout == 0.3 and session.config.spool is False
    assert agentops.flush(timeout=15)  # the start is sent
    transport.fail_next(*[0] * 1000)  # the server is gone
    started = time.monotonic()
    assert session.end_session("Success") is None
    assert time.monotonic() - started < 3  # 0.3 s, not the default 5 s
    transport.clear_failures()
    assert agentops.flush(timeout=15)
    assert transport.sessions[str(session.session_id)]["end_state"] == "Success"


def test_budgets_can_be_configured_before_and_after_init(server: ServerProcess) -> None:
    agentops.configure(max_cost_usd="0.50", max_tokens=1000)
    init_only(server)
    agentops.configure(max_llm_calls=3)  # no session runs: the next ones get it
    session = agentops.start_session()
    assert session is not None
    config = session.config
    assert (config.max_cost_usd, config.max_tokens, config.max_llm_calls) == (
        Decimal("0.50"),
        1000,
        3,
    )
    assert session.end_session("Success") == 0


def test_what_configure_changes_after_init_applies_at_the_next_init(tmp_path: Path) -> None:
    """The queue and the spool are set up once per client: init() kept the client (and its
    first spool folder) when configure() had changed its settings in the meantime."""
    key = str(uuid.uuid4())
    agentops.configure(spool_dir=str(tmp_path / "a"))
    agentops.init(api_key=key, transport=InMemoryTransport(), auto_start_session=False)
    session = agentops.start_session()
    assert session is not None and session.end_session("Success") == 0
    agentops.configure(spool_dir=str(tmp_path / "b"), max_queue_size=7)
    agentops.init(api_key=key, auto_start_session=False)  # the same arguments
    client = agentops.get_client()
    assert isinstance(client, agentops.Client)
    assert client.spooler is not None and client.spooler.directory == tmp_path / "b"
    assert client.worker.capacity == 7


@pytest.mark.parametrize(
    ("setup", "waited"),
    [
        ("agentops.init(shutdown_timeout=0.3, spool_dir=SPOOL)", "0.3"),
        # after init(): the exit hooks were installed with the default 2 s
        (
            "agentops.init(auto_start_session=False, spool_dir=SPOOL)\n"
            "agentops.configure(shutdown_timeout=0.4)\n"
            "agentops.start_session()",
            "0.4",
        ),
    ],
)
def test_shutdown_timeout_given_in_code_bounds_the_exit(
    tmp_path: Path, setup: str, waited: str
) -> None:
    spool = tmp_path / "spool"
    env = script_env(
        AGENTOPS_API_KEY=str(uuid.uuid4()),
        AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{free_port()}",  # nothing listens there
    )
    script = f"import agentops\nSPOOL = {str(spool)!r}\n{setup}\n"
    script += 'agentops.record(agentops.ActionEvent(action_type="kept"))\n'
    done = run_script(tmp_path, script, env)
    assert done.returncode == 0, done.stderr
    unsent = f"1 event(s) not sent after waiting {waited}s for the server; 1 kept in the spool"
    assert f"{unsent} {spool}:" in done.stderr


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
    agentops.configure(flush_timeout=float("inf"), shutdown_timeout="soon")  # type: ignore[arg-type]
    assert "ERROR Ignoring the setting flush_timeout" in agentops_log.text
    assert "ERROR Ignoring the setting shutdown_timeout" in agentops_log.text
    defaults = agentops.Configuration()
    session = agentops.init(
        api_key=str(uuid.uuid4()), transport=InMemoryTransport(), flush_timeout=-1
    )
    assert session is not None
    assert "flush_timeout must be a number of seconds from 0 to 86400, got -1" in agentops_log.text
    assert (session.config.flush_timeout, session.config.shutdown_timeout) == (
        defaults.flush_timeout,
        defaults.shutdown_timeout,
    )
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
