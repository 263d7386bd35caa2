"""Host environment: 0.3.26's sections and keys, collected off the caller's thread; opt-out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentops import _host
from tests.sdk.conftest import export, run_script, script_env, start
from tests.support.server import ServerProcess

FULL = {
    "SDK",
    "OS",
    "CPU",
    "RAM",
    "Disk",
    "Installed Packages",
    "Project Working Directory",
    "Virtual Environment",
}


def test_full_host_env_has_agentops_keys() -> None:
    env = _host.collect(opt_out=False)
    assert set(env) == FULL
    assert set(env["SDK"]) == {"AgentOps SDK Version", "Python Version", "System Packages"}
    assert env["SDK"]["System Packages"]["httpx"]
    assert set(env["OS"]) == {"Hostname", "OS", "OS Version", "OS Release"}
    assert set(env["CPU"]) == {"Physical cores", "Total cores", "CPU Usage"}
    assert env["CPU"]["Total cores"] == os.cpu_count()
    assert set(env["RAM"]) == {"Total", "Available", "Used", "Percentage"}
    assert env["RAM"]["Total"].endswith(" GB") and env["RAM"]["Percentage"].endswith("%")
    for disk in env["Disk"].values():
        assert set(disk) == {"Mountpoint", "Total", "Used", "Free", "Percentage"}
    assert "httpx" in env["Installed Packages"]["Installed Packages"]
    assert env["Project Working Directory"] == {"Project Working Directory": os.getcwd()}
    assert env["Virtual Environment"] == {"Virtual Environment": os.environ.get("VIRTUAL_ENV")}


def test_opt_out_keeps_only_sdk_os_cwd_and_venv() -> None:
    env = _host.collect(opt_out=True)
    assert set(env) == {"SDK", "OS", "Project Working Directory", "Virtual Environment"}


def test_a_probe_that_hangs_or_fails_is_skipped() -> None:
    def hangs() -> dict[str, str]:
        import time

        time.sleep(5)
        return {"late": "yes"}

    def fails() -> dict[str, str]:
        raise OSError("no /proc here")

    assert _host._run_probe(hangs, timeout=0.1) == {}
    assert _host._run_probe(fails, timeout=1) == {}


def test_session_carries_the_host_env_to_the_server(server: ServerProcess) -> None:
    session = start(server, env_data_opt_out=True)
    session.end_session("Success")
    stored = export(server, session.session_id)["session"]["host_env"]
    assert set(stored) == {"SDK", "OS", "Project Working Directory", "Virtual Environment"}
    assert stored["SDK"]["Python Version"]


def test_a_deleted_working_directory_is_reported_as_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()  # the script's directory was removed under it
    env = _host.collect(opt_out=True)
    assert env["Project Working Directory"] == {"Project Working Directory": None}
    assert env["SDK"]["Python Version"]


def test_a_fork_right_after_init_leaves_the_child_no_import_held_by_a_lost_thread(
    tmp_path: Path,
) -> None:
    """The probes run on a background thread; a fork while one of them imports a module
    leaves that module's import lock to a thread the child does not have, and the child's
    own import of it waits forever. init() imports what the probes need on its own thread."""
    done = run_script(
        tmp_path,
        """
        import sys
        import agentops
        probed = ("importlib.metadata", "email.parser", "email.feedparser")
        print(all(name not in sys.modules for name in probed))
        agentops.init(auto_start_session=False)
        print(all(name in sys.modules for name in probed))
        """,
        script_env(
            AGENTOPS_API_KEY="00000000-0000-4000-8000-000000000000",
            AGENTOPS_API_ENDPOINT="http://127.0.0.1:9",
        ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
