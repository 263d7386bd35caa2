"""The public surface: __all__, what importing agentops costs, and the disabled (no key) SDK."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

import agentops
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import REPO_ROOT, LogLines, run_script, script_env
from tests.support.server import ServerProcess

PUBLIC = {
    "ActionEvent",
    "BudgetExceeded",
    "Client",
    "Configuration",
    "EndState",
    "ErrorEvent",
    "Event",
    "EventType",
    "LLMEvent",
    "Session",
    "ToolEvent",
    "add_tags",
    "configure",
    "create_agent",
    "end_all_sessions",
    "end_session",
    "flush",
    "get_api_key",
    "get_client",
    "get_session",
    "init",
    "record",
    "record_action",
    "record_function",
    "record_tool",
    "set_api_key",
    "set_parent_key",
    "set_tags",
    "start_session",
    "stop_instrumenting",
    "track_agent",
    # agentops 0.4
    "ERROR",
    "SUCCESS",
    "TraceContext",
    "TraceState",
    "UNSET",
    "agent",
    "end_trace",
    "guardrail",
    "operation",
    "session",
    "start_trace",
    "task",
    "tool",
    "trace",
    "update_trace_metadata",
    "workflow",
    "track_tool",
    "track_endpoint",
    "validate_trace_spans",
    "print_validation_summary",
    "ValidationError",
}


def test_all_is_exactly_the_public_names() -> None:
    assert set(agentops.__all__) == PUBLIC
    assert len(agentops.__all__) == len(PUBLIC)
    public_attrs = {
        name
        for name in vars(agentops)
        if not name.startswith("_") and not isinstance(getattr(agentops, name), type(agentops))
    }
    # everything public in the module is in __all__ (modules like agentops.wire aside)
    assert public_attrs - PUBLIC <= {"annotations", "Any", "TYPE_CHECKING", "importlib"}


def test_importing_agentops_wire_loads_nothing_else_of_the_sdk() -> None:
    """What the server imports: the wire schema alone, not the SDK's client, worker or httpx."""
    code = "import json, sys, agentops.wire\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {k: v for k, v in script_env().items() if not k.startswith("COVERAGE_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    ours = {m for m in json.loads(out) if m == "agentops" or m.startswith("agentops.")}
    assert ours == {"agentops", "agentops.wire"}


def test_importing_agentops_loads_no_server_framework_or_database(tmp_path: Path) -> None:
    code = "import json, sys, agentops, agentops.testing\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        # without coverage's own subprocess hook, which imports sqlite3
        env={k: v for k, v in script_env().items() if not k.startswith("COVERAGE_")},
        timeout=60,
        check=True,
    ).stdout
    modules = set(json.loads(out))
    forbidden = {"agentops_server", "fastapi", "starlette", "sqlalchemy", "sqlite3", "psycopg"}
    loaded = {m for m in modules if m.split(".")[0] in forbidden or m == "_sqlite3"}
    assert loaded == set()
    assert "httpx" not in modules  # the one dependency is imported by init(), not by import


def test_without_api_key_init_warns_once_and_nothing_starts(tmp_path: Path) -> None:
    code = """
import threading, agentops
assert agentops.init() is None
assert agentops.init() is None
assert agentops.start_session() is None
agentops.record(agentops.ActionEvent(action_type="x"))
agentops.add_tags(["a"])
assert agentops.end_session("Success") is None
assert agentops.create_agent("a") is None
assert agentops.flush() is True
print(sorted(t.name for t in threading.enumerate()))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=script_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("API Key is missing") == 1
    assert done.stdout.strip() == "['MainThread']"  # no worker, no host probe


def test_noop_client_before_init() -> None:
    assert isinstance(agentops.get_client(), agentops._client.NoopClient)
    assert agentops.start_session() is None
    assert agentops.end_session("Success") is None
    assert agentops.get_session(str(uuid.uuid4())) is None
    assert agentops.get_client().sessions == []


def test_invalid_api_key_disables_instead_of_raising() -> None:
    assert agentops.init(api_key="not-a-uuid") is None
    assert isinstance(agentops.get_client(), agentops._client.NoopClient)


def test_bad_init_arguments_are_logged_and_ignored_not_raised(
    agentops_log: LogLines,
) -> None:
    """Never crash the host over a setting (tests/sdk/test_settings.py has the real server)."""
    session = agentops.init(
        api_key=str(uuid.uuid4()),
        endpoint="ftp://nowhere",
        max_queue_size=0,
        transport=InMemoryTransport(),
    )
    assert session is not None
    assert "endpoint" in agentops_log.text and "max_queue_size" in agentops_log.text
    defaults = agentops.Configuration()
    assert (session.config.endpoint, session.config.max_queue_size) == (
        defaults.endpoint,
        defaults.max_queue_size,
    )
    with pytest.raises(TypeError):  # an unknown keyword is Python's own error
        agentops.init(api_key=str(uuid.uuid4()), no_such_option=True)  # type: ignore[call-arg]


def test_configuration_precedence_argument_env_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOPS_API_ENDPOINT", "http://127.0.0.1:9/")
    monkeypatch.setenv("AGENTOPS_MAX_QUEUE_SIZE", "77")
    monkeypatch.setenv("AGENTOPS_ENV_DATA_OPT_OUT", "true")
    config = agentops._config.build(max_queue_size=5)
    assert config.endpoint == "http://127.0.0.1:9"  # trailing slash removed (0.3 sent //v2)
    assert config.max_queue_size == 5
    assert config.env_data_opt_out is True
    assert config.batch_size == 5
    monkeypatch.delenv("AGENTOPS_API_ENDPOINT")
    assert agentops._config.build().endpoint == "http://127.0.0.1:8000"
    monkeypatch.setenv("AGENTOPS_MAX_QUEUE_SIZE", "lots")  # logged and ignored
    assert agentops._config.build().max_queue_size == agentops.Configuration().max_queue_size


def test_configuration_is_frozen_and_dedupes_tags_in_order() -> None:
    config = agentops.Configuration(default_tags=("b", "a", "b"))
    assert config.default_tags == ("b", "a")
    with pytest.raises(AttributeError):
        config.endpoint = "http://x"  # type: ignore[misc]
    assert config.replace(endpoint=None) is config


def test_end_states_accept_failure_spelling() -> None:
    assert agentops.EndState("Failure") is agentops.EndState.FAIL
    assert agentops.EndState("Success").value == "Success"
    assert agentops.EventType.ACTION.value == "actions"


def test_each_client_owns_a_worker_built_from_its_own_settings() -> None:
    small = agentops.Client(agentops.Configuration(api_key=str(uuid.uuid4()), max_queue_size=7))
    large = agentops.Client(agentops.Configuration(api_key=str(uuid.uuid4()), max_queue_size=9))
    assert small.worker is small.worker and small.worker is not large.worker
    assert (small.worker.capacity, large.worker.capacity) == (7, 9)
    assert small.worker._thread is None  # no thread until something is queued


def test_every_env_var_and_public_name_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "sdk.md").read_text()
    for name in agentops._config.ENV_VARS:
        assert f"`{name}`" in docs, name
    for name in PUBLIC:
        assert name in docs, name


def test_requires_python_is_the_python_the_sdk_is_checked_for() -> None:
    """The SDK uses 3.11's datetime.UTC; pip must not install it on an older Python."""
    sdk = tomllib.loads((REPO_ROOT / "sdk" / "pyproject.toml").read_text())
    workspace = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    oldest = workspace["tool"]["mypy"]["python_version"]
    assert workspace["tool"]["ruff"]["target-version"] == "py" + oldest.replace(".", "")
    assert sdk["project"]["requires-python"] == f">={oldest}"


def test_careless_calls_never_raise_into_the_program_and_the_good_events_are_kept(
    tmp_path: Path, server: ServerProcess
) -> None:
    """Bad arguments, values that cannot be encoded or are huge, ends given twice or with a
    wrong state, a missing or wrong key: the script runs to its end, and what was valid is
    stored."""
    done = run_script(
        tmp_path,
        f"""
        import agentops
        KEY, ENDPOINT = {server.api_key!r}, {server.url!r}
        assert agentops.init(endpoint=ENDPOINT) is None  # no key: warns, does nothing
        assert agentops.init(api_key="nope", endpoint=ENDPOINT) is None
        session = agentops.init(api_key=KEY, endpoint=ENDPOINT)
        print("SESSION", session.session_id)
        for bad in (None, 5, "x", {{"event_type": "actions"}}):
            agentops.record(bad)

        class Hostile:
            def __repr__(self):
                raise RuntimeError("no repr")

            def __getattr__(self, name):
                raise RuntimeError("no attr")

        loop = []
        loop.append(loop)
        deep = []
        level = deep
        for _ in range(5000):
            level.append([])
            level = level[0]
        for params in (
            {{"h": Hostile()}},
            {{"loop": loop}},
            {{"deep": deep}},
            {{"b": b"\\xff", "set": {{1}}, "nan": float("nan"), "big": 2**200}},
            {{"huge": "a" * (5 * 1024 * 1024)}},
        ):
            agentops.record(agentops.ActionEvent(action_type="odd", params=params))
        for state in ("Bogus", None, 5):
            assert agentops.end_session(state) is None
        print("COST", agentops.end_session("Success"))
        print("AGAIN", agentops.end_session("Success"), session.end_session("Fail"))
        agentops.record(agentops.ActionEvent(action_type="after-end"))
        """,
        script_env(),
    )
    assert done.returncode == 0, done.stderr
    assert "COST 0" in done.stdout and "AGAIN None None" in done.stdout
    session_id = next(
        line.split()[1] for line in done.stdout.splitlines() if line.startswith("SESSION ")
    )
    stats = server.stats(session_id).json()
    assert stats["events"] == 5 and stats["end_state"] == "Success"
