"""Slow and idle clients against the real `agentops serve`: read deadlines close them, and
beyond the connection cap a new client still gets in (benchmarks/slow_clients.py measures)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import ServerProcess

MAX_CONNECTIONS = 40
SETTINGS = {
    "AGENTOPS_HEADER_TIMEOUT_SECONDS": "1",
    "AGENTOPS_BODY_TIMEOUT_SECONDS": "2",
    "AGENTOPS_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("slow") / "data"
    proc = ServerProcess(data_dir=data_dir, extra_env=SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


def connect(server: ServerProcess, first_bytes: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (30 s at most)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def is_closed(sock: socket.socket) -> bool:
    """Whether the server closed it (what it sent before is read and dropped)."""
    sock.settimeout(0.0)
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_headers_that_never_finish_get_408_and_a_closed_connection(server: ServerProcess) -> None:
    with connect(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a") as sock:
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer


def test_a_connection_that_sends_nothing_is_closed(server: ServerProcess) -> None:
    with connect(server) as sock:
        assert read_until_closed(sock) == b""


def test_a_body_that_never_finishes_gets_408_and_a_closed_connection(
    server: ServerProcess,
) -> None:
    head = (
        b"POST /v2/create_session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Agentops-Api-Key: " + server.api_key.encode() + b"\r\n"
        b'Content-Length: 1000\r\n\r\n{"session": '
    )
    with connect(server, head) as sock:
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer


def test_a_kept_alive_connection_gets_a_fresh_header_deadline_per_request(
    server: ServerProcess,
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(3):
            assert client.get("/health").status_code == 200
        # the connection stays open while idle (keep-alive), and serves the next request
        assert client.get("/health").status_code == 200


def test_past_the_connection_cap_a_new_client_still_gets_answered(server: ServerProcess) -> None:
    idle = []
    for _ in range(MAX_CONNECTIONS):  # kept-alive connections, idle after one request
        sock = connect(server, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        idle.append(sock)
    reading = [connect(server, b"GET /health HTTP/1.1\r\n") for _ in range(MAX_CONNECTIONS)]
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(5):
                assert client.get("/health").status_code == 200
        # room was made from the idle connections first, oldest first
        closed = [is_closed(sock) for sock in idle]
        assert all(closed[: MAX_CONNECTIONS // 2])
    finally:
        for sock in idle + reading:
            sock.close()
