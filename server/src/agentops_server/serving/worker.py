"""One server process (`python -m agentops_server.serving.worker`), started by the supervisor
with the listening socket and its settings; it writes one byte to its ready pipe once it
serves. SIGTERM/SIGINT: shut down as uvicorn does; SIGUSR1: retire (see drain.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
from dataclasses import asdict, dataclass
from typing import Final

import uvicorn

from agentops_server.config import ServerConfig
from agentops_server.connection_guard import guarded_protocol, raise_descriptor_limit
from agentops_server.serving.drain import CloseWhenDraining, Drain, RetiringServer
from agentops_server.serving.logs import log_config

WORKER_ENV: Final = "AGENTOPS_SERVE_WORKER"
RETIRE_SIGNAL: Final = signal.SIGUSR1
GRACEFUL_SECONDS: Final = 30


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """What a worker needs besides the ServerConfig (which travels in CONFIG_ENV)."""

    fd: int  # the listening socket
    ready_fd: int  # write end of the ready pipe
    log_level: str
    access_log: bool

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerOptions:
        return cls(**json.loads(text))


class WorkerServer(RetiringServer):
    def __init__(self, config: uvicorn.Config, drain: Drain, ready_fd: int) -> None:
        super().__init__(config, drain)
        self.ready_fd = ready_fd
        self.parent = os.getppid()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            os.write(self.ready_fd, b"1")
        os.close(self.ready_fd)

    async def on_tick(self, counter: int) -> bool:
        if counter % 10 == 0 and os.getppid() != self.parent:
            self.should_exit = True  # the supervisor is gone (kill -9): don't serve on alone
        return await super().on_tick(counter)


def main() -> None:
    from agentops_server.app import app_from_env

    options = WorkerOptions.from_json(os.environ.pop(WORKER_ENV))
    sock = socket.socket(fileno=options.fd)
    drain = Drain()
    inner = app_from_env()
    settings: ServerConfig = inner.state.config
    raise_descriptor_limit(settings)
    app = CloseWhenDraining(inner, drain)
    config = uvicorn.Config(
        app,
        log_level=options.log_level,
        log_config=log_config(options.log_level),
        access_log=options.access_log,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        # Longer than clients keep idle connections (0.3.26: 10 s, sending every 5 s), so the
        # server never closes one just as a client reuses it (a POST is not retried then).
        timeout_keep_alive=settings.keep_alive_seconds,
        http=guarded_protocol(settings),  # header/body read deadlines, a connection cap
        proxy_headers=False,  # the app believes X-Forwarded-* from AGENTOPS_TRUSTED_PROXIES only
    )
    server = WorkerServer(config, drain, options.ready_fd)
    signal.signal(RETIRE_SIGNAL, lambda signum, frame: server.retire())
    # A reload is the supervisor's: a SIGHUP sent to the process group (a closed terminal,
    # `kill -HUP -PGID`) must not end the workers.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
