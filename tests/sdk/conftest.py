"""SDK test fixtures: every test starts from a pristine SDK, and any internal error the SDK
swallowed fails the test that caused it (Sentry's conftest pattern)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentops
from agentops import _api, _client, _recording, _worker
from agentops._errors import set_internal_error_hook
from tests.support.server import ServerProcess

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def internal_errors_fail_the_test() -> Iterator[list[BaseException]]:
    errors: list[BaseException] = []
    previous = set_internal_error_hook(errors.append)
    try:
        yield errors
    finally:
        set_internal_error_hook(previous)
    if errors:
        raise AssertionError(f"the SDK swallowed {len(errors)} internal error(s)") from errors[0]


@pytest.fixture(autouse=True)
def pristine_sdk() -> Iterator[None]:
    """No client, no session, no configure() leftovers before and after each test."""
    _reset()
    yield
    _reset()


class LogLines(logging.Handler):
    """What the `agentops` logger said (it does not propagate to pytest's caplog)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def agentops_log() -> Iterator[LogLines]:
    """The `agentops` logger's records at INFO and above during the test."""
    handler = LogLines()
    logger = logging.getLogger("agentops")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `agentops serve` per test module (each test uses its own sessions)."""
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("server-data")).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def server(shared_server: ServerProcess) -> Iterator[ServerProcess]:
    """The module's server, with this test's sessions ended and sent before the next test."""
    if shared_server.proc is None:
        shared_server.start()
    yield shared_server
    if shared_server.proc is None:  # the test stopped it
        shared_server.start()
    _reset()
    for worker in _worker.live_workers():
        worker.flush(10)


def _reset() -> None:
    for session in _recording.active_sessions():
        session._finish("Indeterminate", "test teardown", None)
    _client.set_client(_client.NoopClient())
    _client.teardown_integrations()  # init() may have set them up: leave no import hooks behind
    _api._configured.clear()
    _recording.set_current(None)


def init_only(server: ServerProcess, **kwargs: Any) -> None:
    """init() against `server` without starting a session."""
    kwargs.setdefault("instrument_llm_calls", False)
    kwargs.setdefault("auto_start_session", False)
    assert agentops.init(api_key=server.api_key, endpoint=server.url, **kwargs) is None


def start(server: ServerProcess, **kwargs: Any) -> agentops.Session:
    """init() against `server`; the session it started."""
    kwargs.setdefault("instrument_llm_calls", False)
    session = agentops.init(api_key=server.api_key, endpoint=server.url, **kwargs)
    assert session is not None
    return session


def export(server: ServerProcess, session_id: object) -> dict[str, Any]:
    res = server.export(str(session_id))
    assert res.status_code == 200, res.text
    data: dict[str, Any] = res.json()
    return data


def stats(server: ServerProcess, session_id: object) -> dict[str, Any]:
    res = server.stats(str(session_id))
    assert res.status_code == 200, res.text
    data: dict[str, Any] = res.json()
    return data


def script_env(server: ServerProcess | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOPS_")}
    # the checkout under test first (a worktree's SDK, not the venv's editable install)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "sdk" / "src")])
    env["PYTHONUNBUFFERED"] = "1"
    if server is not None:
        env["AGENTOPS_API_KEY"] = server.api_key
        env["AGENTOPS_API_ENDPOINT"] = server.url
        # A server that answers: the exit hooks' 2 s deadline is about servers that don't;
        # on a loaded 2-core machine a healthy one took longer to take three sessions.
        env["AGENTOPS_SHUTDOWN_TIMEOUT"] = "30"
    env["AGENTOPS_INSTRUMENT_LLM_CALLS"] = "false"
    env.update(extra)
    return env


def write_script(tmp_path: Path, source: str, name: str = "agent.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def as_from_a_terminal() -> None:
    """preexec_fn for user scripts: start them with Ctrl+C's default action, as a shell does
    for a foreground program, whatever this test run inherited (a background job or a CI
    runner may start everything with SIGINT ignored, and Python keeps that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_script(
    tmp_path: Path, source: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `source` as a user's script in a fresh interpreter."""
    path = write_script(tmp_path, source)
    return subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=tmp_path,
        preexec_fn=as_from_a_terminal,
    )
