"""A lean load generator for the ingest benchmarks: HTTP/1.1 POSTs over keep-alive sockets,
each request's bytes built before the clock starts, as wrk or h2load would send them.

On a 2-core machine the load generator shares the cores with the server. httpx spent about
20 us of CPU per event on batches of 25 (0.5 ms per request, under the client threads' own
GIL), which is CPU and latency the server's rate then pays for; this one spends a small
fraction of it. Answers are read far enough to check the status and take the body
(Content-Length or chunked), so a refused request still fails the run.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit


def request_bytes(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The whole HTTP/1.1 request, ready to send."""
    parts = urlsplit(url)
    lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self._sock = socket.create_connection((host, port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; the answer's status and body."""
        self._sock.sendall(request)
        head = self._until(b"\r\n\r\n")
        status_line, _, header_text = head.partition(b"\r\n")
        status = int(status_line.split()[1])
        headers = {}
        for line in header_text.split(b"\r\n"):
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = b""
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                chunk = self._take(size + 2)[:size]
                if size == 0:  # no trailers: its CRLF was the last taken
                    return status, body
                body += chunk
        return status, self._take(int(headers.get(b"content-length", b"0")))

    def _until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        found, _, self._buffer = self._buffer.partition(marker)
        return found

    def _take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken

    def _fill(self) -> None:
        data = self._sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self._buffer += data

    def close(self) -> None:
        self._sock.close()


def post_all(url: str, requests: list[bytes], clients: int) -> list[float]:
    """Send every prepared request from `clients` threads, one connection each, one request
    at a time per connection; the latencies, sorted. A non-2xx answer fails the run."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    cursor = iter(requests)

    def client() -> None:
        connection = _Connection(host, port)
        try:
            while not failures:
                with lock:
                    request = next(cursor, None)
                if request is None:
                    return
                t = time.perf_counter()
                status, body = connection.exchange(request)
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
                    if not 200 <= status < 300:
                        failures.append(f"{status}: {body[:300]!r}")
        except OSError as exc:  # the others stop too: the run is void
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, the first: {failures[0]}")
    return sorted(latencies)
