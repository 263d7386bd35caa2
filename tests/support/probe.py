"""A client that opens a new connection for every request, to see whether a server ever
refuses one (e.g. while its workers are replaced) and how long a request waits at most."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import httpx


class ConnectionProbe:
    """GET `url` on a fresh connection, again and again, in a thread, until closed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests = 0
        self.failures: list[str] = []
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionProbe:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                response = httpx.get(self.url, timeout=60)  # a new connection each time
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            self.longest = max(self.longest, time.monotonic() - started)
            self.requests += 1
            time.sleep(0.01)
