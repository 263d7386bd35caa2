"""A ThreadingHTTPServer for in-test fakes that leaves no connection open when it closes.

Its handler threads are daemons, and an HTTP/1.1 handler waits on a kept-alive connection for
the client's next request: a client that never closes its pool (a provider SDK's module-level
client) left a thread reading forever after its server had closed, and its socket unclosed
until the interpreter's exit. server_close() now shuts down what is still open, so those
threads see the end of their connection and close it themselves.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for conn in still_open:
            with contextlib.suppress(OSError):  # the client hung up meanwhile
                conn.shutdown(socket.SHUT_RDWR)
