"""Retiring a worker without failing a request: stop accepting, answer what comes in on the
open connections with `Connection: close`, then shut down as on SIGTERM.

Closing an idle keep-alive connection races with a client that is just sending a request on
it (the request is lost, and the agentops 0.3 client does not retry a POST). So a retiring
worker keeps its connections for up to DRAIN_SECONDS: each client's next request is served
and its response tells the client to close; a client then opens its next connection to the
listening socket, which a fresh worker serves. Only connections idle for the whole period
are closed by the server."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_SECONDS = 10.0


class Drain:
    """Whether this process is retiring; read by the middleware for every response."""

    def __init__(self) -> None:
        self.active = False


class CloseWhenDraining:
    """ASGI middleware: once the drain began, every response carries `Connection: close`."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.drain.active:
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)


class RetiringServer(uvicorn.Server):
    """uvicorn's server plus `retire()`: a shutdown that drains connections first."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain
        self.retiring = False

    def retire(self) -> None:
        """Called from a signal handler: leave the main loop, draining on the way out."""
        self.retiring = True
        self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.retiring and not self.force_exit:
            for server in self.servers:
                server.close()  # no new connections: the listening socket serves the others
            self.drain.active = True
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_SECONDS
            while self._draining(loop.time() < deadline):
                await asyncio.sleep(0.05)
        await super().shutdown(sockets)

    def _draining(self, in_time: bool) -> bool:
        """Connections remain, the drain period has not passed and no second signal came."""
        return bool(self.server_state.connections) and in_time and not self.force_exit
