"""What `agentops serve` tells a newcomer to run works as printed, from where `make serve` ran
it: `.venv/bin/agentops serve` in the checkout, with no virtual environment activated."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentops_server.auth.keys import is_key_format
from tests.support.server import free_port

pytestmark = pytest.mark.slow


class Checkout:
    """A folder laid out like the checkout after `make serve`: `.venv` is this interpreter's
    environment, and PATH does not contain its bin/ (nothing activated)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
        bin_dir = str(Path(sys.executable).parent)
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
        self.env = {**os.environ, "PATH": os.pathsep.join(path)}
        for name in ("AGENTOPS_DATA_DIR", "AGENTOPS_DATABASE_URL", "VIRTUAL_ENV"):
            self.env.pop(name, None)

    def serve_output(self) -> str:
        """Start `.venv/bin/agentops serve` as `make serve` does; its output up to readiness."""
        port = free_port()
        args = [".venv/bin/agentops", "serve", "--port", str(port), "--data-dir", "agentops-data"]
        log = self.root / f"serve-{port}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                args, cwd=self.root, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
            try:
                _wait_healthy(f"http://127.0.0.1:{port}", proc)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        return log.read_text()

    def shell(self, command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        # A new session has no controlling terminal, so a password prompt reads stdin.
        return subprocess.run(
            ["bash", "-c", command],
            cwd=self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,
        )


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        assert proc.poll() is None, "the server exited early"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not start")


def test_commands_printed_by_serve_work_as_printed(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path)
    first = checkout.serve_output()
    change = re.search(r"change it with `([^`]+)`", first)
    assert change, first
    assert change.group(1).startswith(".venv/bin/agentops users set-password admin")
    done = checkout.shell(change.group(1), stdin="a new password 1\na new password 1\n")
    assert done.returncode == 0, done.stderr
    assert "New password set for admin" in done.stdout

    assert checkout.shell(".venv/bin/agentops projects create Other").returncode == 0
    again = checkout.serve_output()
    hint = re.search(r"To make an API key: (.+)", again)
    assert hint, again
    assert "--project Default" in hint.group(1), "several projects: the hint must choose one"
    made = checkout.shell(hint.group(1))
    assert made.returncode == 0, made.stderr
    assert 'New API key for project "Default"' in made.stdout
    assert is_key_format(made.stdout.strip().splitlines()[-1])


def test_serve_with_one_project_hints_without_project_option(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path)
    checkout.serve_output()
    hint = re.search(r"To make an API key: (.+)", checkout.serve_output())
    assert hint and "--project" not in hint.group(1)
    made = checkout.shell(hint.group(1))
    assert made.returncode == 0 and is_key_format(made.stdout.strip().splitlines()[-1])
