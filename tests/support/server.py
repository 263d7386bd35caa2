"""A real `agentops serve` process on 127.0.0.1, started the way a user starts it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run the `agentops` CLI in a subprocess and return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "agentops_server", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"agentops {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class ServerProcess:
    """One server process with its own data directory and a project ready to use."""

    data_dir: Path
    database_url: str | None = None
    extra_args: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    api_key: str = ""
    project_id: str = ""
    proc: subprocess.Popen[str] | None = None
    log_path: Path | None = None
    log_file: TextIO | None = None
    database_made: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def db_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def create_project(self, name: str = "Test") -> tuple[str, str]:
        if not self.database_made:  # `projects create` needs one; `db upgrade` makes it
            cli("db", "upgrade", *self.db_args(), env=self.extra_env)
            self.database_made = True
        out = cli("projects", "create", name, "--json", *self.db_args(), env=self.extra_env)
        info = json.loads(out)
        return str(info["project_id"]), str(info["api_key"])

    def start(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.api_key:
            self.project_id, self.api_key = self.create_project()
        self.port = self.port or free_port()
        self.log_path = self.data_dir / f"server-{self.port}.log"
        log = self.log_file = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentops_server",
                "serve",
                "--port",
                str(self.port),
                *self.db_args(),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **self.extra_env},
        )
        try:
            self.wait_ready()
        except AssertionError:
            self.stop()  # a server that never answered must not outlive the test
            raise
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready after {timeout}s:\n{self.log()}")

    def reload(self, timeout: float = 180.0) -> None:
        """SIGHUP (`kill -HUP`), then wait until the server logged that every worker was
        replaced."""
        assert self.proc is not None
        done = self.log().count("Reload complete")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.log().count("Reload complete") == done:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no reload after SIGHUP:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as a process manager would; returns the exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None
        return code

    def export(self, session_id: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}/v2/sessions/{session_id}/export",
            headers={"X-Agentops-Api-Key": self.api_key},
            timeout=60,
        )

    def stats(self, session_id: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}/v2/sessions/{session_id}/stats",
            headers={"X-Agentops-Api-Key": self.api_key},
            timeout=30,
        )
