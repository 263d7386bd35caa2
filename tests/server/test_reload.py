"""`agentops serve` re-reads its settings on SIGHUP (--env-file), refuses a broken file without
stopping, and serves a socket systemd passed it (LISTEN_FDS)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from tests.server.conftest import action
from tests.support.server import ServerProcess, free_port


def create_session(server: ServerProcess) -> str:
    response = httpx.post(
        f"{server.url}/v2/create_session",
        json={"session": {"session_id": str(uuid.uuid4())}},
        headers={"X-Agentops-Api-Key": server.api_key},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["jwt"])


def test_sighup_applies_the_env_file_and_a_broken_one_changes_nothing(tmp_path: Path) -> None:
    env_file = tmp_path / "agentops.env"
    env_file.write_text("# settings\nAGENTOPS_MAX_BODY_BYTES=1000000\n")
    server = ServerProcess(
        data_dir=tmp_path / "data", extra_args=["--env-file", str(env_file)]
    ).start()
    try:
        jwt = create_session(server)
        headers = {"Authorization": f"Bearer {jwt}"}
        big = {"events": [action() for _ in range(1)] + [{**action(), "pad": "x" * 20_000}]}
        assert httpx.post(f"{server.url}/v2/create_events", json=big, headers=headers).is_success

        env_file.write_text("export AGENTOPS_MAX_BODY_BYTES='10000'\n")
        server.reload()
        response = httpx.post(f"{server.url}/v2/create_events", json=big, headers=headers)
        assert response.status_code == 413  # the new limit, in the new workers
        small = {"events": [action()]}
        assert httpx.post(f"{server.url}/v2/create_events", json=small, headers=headers).is_success

        env_file.write_text("AGENTOPS_MAX_BODY_BYTES=lots\n")
        assert server.proc is not None
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "Reload refused" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        assert "max body bytes must be a whole number" in server.log()
        response = httpx.post(f"{server.url}/v2/create_events", json=big, headers=headers)
        assert response.status_code == 413  # still serving, with the last good settings
    finally:
        assert server.stop() == -signal.SIGTERM


def test_serves_the_socket_systemd_passes(tmp_path: Path) -> None:
    """Socket activation: the socket exists before the server; a client that connects before
    the server is ready waits in its backlog and gets its answer."""
    data = tmp_path / "data"
    project = ServerProcess(data_dir=data).create_project()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    early = socket.create_connection(("127.0.0.1", port))  # before the server even starts
    fd = listener.fileno()
    # as systemd does: the socket as fd 3, LISTEN_PID the server's own pid
    as_systemd = f'exec 3<&{fd} {fd}<&-; LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"'
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        ["bash", "-c", as_systemd, "bash", sys.executable, "-m", "agentops_server", "serve"]
        # a port setting (deploy/agentops.env has one) does not apply to a handed socket
        + ["--data-dir", str(data), "--port", str(free_port())],
        pass_fds=(fd,),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    listener.close()
    try:
        early.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        early.settimeout(60)
        answer = early.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200"), (tmp_path / "serve.log").read_text()
        response = httpx.get(
            f"http://127.0.0.1:{port}/v2/sessions",
            headers={"X-Agentops-Api-Key": project[1]},
            timeout=30,
        )
        assert response.status_code == 200
        printed = (tmp_path / "serve.log").read_text()
        assert f"http://127.0.0.1:{port}" in printed
        assert "needs a full restart" not in printed  # nothing to restart: it is systemd's
    finally:
        early.close()
        proc.terminate()
        proc.wait(60)
        log.close()
