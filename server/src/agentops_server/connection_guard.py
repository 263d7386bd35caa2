"""Slow and idle clients cannot hold the server: read deadlines and a connection cap.

uvicorn reads a request for as long as its client takes, and keeps every connection it accepts.
`GuardedProtocol` is uvicorn's httptools protocol with three additions, per server process:
- a request's line and headers must arrive within `header_timeout` seconds (counted from the
  connection's opening, or from the first byte of the next request on a kept-alive one);
- its body must arrive within `body_timeout` seconds once the headers are in;
- beyond `max_connections` open connections, a new one closes the connection idle the longest
  (between requests), else the one that has been reading its request the longest, else it is
  refused with 503. A connection whose request the app is answering is never closed.
A timed-out request gets 408 (if it had sent anything) and its connection is closed.
"""

from __future__ import annotations

import asyncio
import functools
import resource
import weakref
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from agentops_server.config import ServerConfig


def _plain(status: bytes, text: bytes, *extra: bytes) -> bytes:
    """A whole HTTP/1.1 response that closes its connection."""
    head = [b"HTTP/1.1 " + status, b"content-type: text/plain; charset=utf-8", *extra]
    head += [b"content-length: %d" % len(text), b"connection: close"]
    return b"\r\n".join(head) + b"\r\n\r\n" + text


TIMEOUT_408 = _plain(b"408 Request Timeout", b"the request did not arrive in time\n")
FULL_503 = _plain(b"503 Service Unavailable", b"too many connections: retry\n", b"retry-after: 1")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int

    @classmethod
    def of(cls, config: ServerConfig) -> ConnectionLimits:
        return cls(
            float(config.header_timeout_seconds),
            float(config.body_timeout_seconds),
            config.max_connections,
        )


class Phase(Enum):
    HEADERS = 1  # waiting for (the rest of) a request's line and headers
    BODY = 2  # headers in, body still arriving
    ANSWERING = 3  # the request is complete: the app is answering it
    IDLE = 4  # between requests on a kept-alive connection


class Room:
    """One server's connections that may be closed to make room, oldest first, so choosing
    one costs O(1) even when thousands of connections arrive at once."""

    def __init__(self) -> None:
        self.idle: dict[GuardedProtocol, None] = {}  # insertion order = time it became idle
        self.reading: dict[GuardedProtocol, None] = {}

    def place(self, connection: GuardedProtocol, phase: Phase | None) -> None:
        self.idle.pop(connection, None)
        self.reading.pop(connection, None)
        if phase is Phase.IDLE:
            self.idle[connection] = None
        elif phase in (Phase.HEADERS, Phase.BODY):
            self.reading[connection] = None

    def victim(self) -> GuardedProtocol | None:
        """The connection idle the longest, else the one reading its request the longest."""
        for group in (self.idle, self.reading):
            for connection in group:
                return connection
        return None


_ROOMS: weakref.WeakKeyDictionary[ServerState, Room] = weakref.WeakKeyDictionary()


class GuardedProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        *args: Any,
        limits: ConnectionLimits,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, server_state, *args, **kwargs)
        self.limits = limits
        self.room = _ROOMS.setdefault(server_state, Room())
        self.phase = Phase.HEADERS
        self.received_any = False
        self._deadline: asyncio.TimerHandle | None = None

    # --- the connection's life ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            self.connections.discard(self)
            self.transport.write(FULL_503)
            self.transport.close()
            return
        self._enter(Phase.HEADERS, self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self.room.place(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.phase is Phase.IDLE:  # the next request on a kept-alive connection begins
            self.received_any = False
            self._enter(Phase.HEADERS, self.limits.header_timeout)
        self.received_any = True
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._enter(Phase.BODY, self.limits.body_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._enter(Phase.ANSWERING, None)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.phase is Phase.ANSWERING and not self.transport.is_closing():
            self._enter(Phase.IDLE, None)  # uvicorn's keep-alive timer runs from here

    # --- deadlines and room -------------------------------------------------------------------
    def _enter(self, phase: Phase, timeout: float | None) -> None:
        self._cancel()
        self.phase = phase
        self.room.place(self, phase)
        if timeout is not None:
            self._deadline = self.loop.call_later(timeout, self._timed_out)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        self._close(answer=TIMEOUT_408 if self.received_any else None)

    def _close(self, *, answer: bytes | None) -> None:
        if self.transport.is_closing():
            return
        started = self.cycle is not None and self.cycle.response_started
        if answer is not None and not started:
            self.transport.write(answer)
        self.transport.close()

    def _make_room(self) -> bool:
        """Close one connection for this one: the longest idle, else the slowest reader."""
        victim = self.room.victim()
        if victim is None:
            return False
        reading = victim.phase is not Phase.IDLE
        self.room.place(victim, None)
        victim._close(answer=TIMEOUT_408 if reading and victim.received_any else None)
        victim.connections.discard(victim)  # counted as gone now; connection_lost follows
        return True


def guarded_protocol(config: ServerConfig) -> type[asyncio.Protocol]:
    """What to pass as uvicorn's `http=`: picklable, so `--workers N` gets it too."""
    factory = functools.partial(GuardedProtocol, limits=ConnectionLimits.of(config))
    return cast("type[asyncio.Protocol]", factory)


def raise_descriptor_limit(config: ServerConfig) -> None:
    """Let the process hold `max_connections` sockets plus its files (soft limit up to hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = config.max_connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
