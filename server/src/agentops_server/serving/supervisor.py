"""The `agentops serve` parent process: holds the listening socket and keeps N workers on it.

- SIGHUP: re-read the settings (Settings loader), migrate the database with the code now on
  disk, then replace the workers one at a time: a fresh worker is started and must be ready
  before the old one retires (drains its connections, finishes its requests, commits every
  acknowledged event, exits). The socket stays open throughout, so a client's connection
  waits in its backlog instead of being refused. If a new worker fails to start, the old ones
  keep serving and the error is logged.
- SIGTERM/SIGINT: stop every worker gracefully, then exit by the same signal.
- A worker that dies is replaced; if the very first workers can't start, serve exits 1.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from agentops_server.app import CONFIG_ENV
from agentops_server.config import ServerConfig
from agentops_server.serving.worker import RETIRE_SIGNAL, WORKER_ENV, WorkerOptions

logger = logging.getLogger("uvicorn.error")

READY_SECONDS: Final = 120.0  # a worker imports everything and opens the database
STOP_SECONDS: Final = 60.0  # graceful shutdown (30 s) plus the drain (10 s), with margin
RESPAWN_PAUSE: Final = 1.0


class ReloadError(Exception):
    """The new settings or schema can't be used; the running workers keep serving."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What a worker is started with; re-read from flags, environment and files on SIGHUP."""

    config: ServerConfig
    workers: int
    log_level: str
    access_log: bool


class Worker:
    def __init__(self, sock: socket.socket, settings: Settings) -> None:
        ready_r, ready_w = os.pipe()
        options = WorkerOptions(sock.fileno(), ready_w, settings.log_level, settings.access_log)
        env = {
            **os.environ,
            CONFIG_ENV: settings.config.to_json(),
            WORKER_ENV: options.to_json(),
        }
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentops_server.serving.worker"],
                env=env,
                pass_fds=(sock.fileno(), ready_w),
            )
        finally:
            os.close(ready_w)
        self._ready_r = ready_r

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float, interrupted: Callable[[], bool]) -> bool:
        """True once the worker serves; False if it exited, timed out or we were stopped."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and not interrupted():
                readable, _, _ = select.select([self._ready_r], [], [], 0.2)
                if readable:
                    return os.read(self._ready_r, 1) == b"1"
            return False
        finally:
            os.close(self._ready_r)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.error("Worker [%d] did not stop in %.0f s: killing it", self.pid, timeout)
            self.proc.kill()
            return self.proc.wait()


class Supervisor:
    def __init__(
        self,
        sock: socket.socket,
        load: Callable[[], Settings],
        prepare: Callable[[Settings], None],
    ) -> None:
        """`load` re-reads the settings (raising ReloadError if they are unusable) and
        `prepare` readies the database for them (migrations), both again on every SIGHUP."""
        self.sock = sock
        self.load = load
        self.prepare = prepare
        self.settings = load()
        self.workers: list[Worker] = []
        self.pending: list[int] = []
        self.stop_signal: int | None = None

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; the exit status is 1 if the workers never started."""
        for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        logger.info("Started parent process [%d]", os.getpid())
        try:
            # all at once: a start is mostly imports, and N of them overlap on N cores
            starting = [Worker(self.sock, self.settings) for _ in range(self.settings.workers)]
            for worker in starting:
                if not self._ready(worker):
                    for other in starting:
                        if other.alive():
                            other.proc.kill()
                    return 1 if self.stop_signal is None else 0
                self.workers.append(worker)
            while self.stop_signal is None:
                if signal.SIGHUP in self.pending:
                    self.pending.remove(signal.SIGHUP)
                    self.reload()
                self._replace_dead()
                time.sleep(0.2)
            return 0
        finally:
            self._stop_all()
            logger.info("Stopping parent process [%d]", os.getpid())

    def reload(self) -> None:
        """Replace every worker by one with fresh code and settings, one at a time."""
        logger.info("Received SIGHUP: re-reading the settings and replacing the workers")
        try:
            settings = self.load()
            self.prepare(settings)
        except ReloadError as exc:
            logger.error("Reload refused, the workers keep running: %s", exc)
            return
        for index, old in enumerate(list(self.workers)):
            if index >= settings.workers:
                self._retire(old)
                continue
            new = self._start(settings)
            if new is None:
                if self.stop_signal is None:
                    logger.error("Reload aborted: worker [%d] keeps serving", old.pid)
                return
            self.workers[index] = new
            self._retire(old)
        del self.workers[settings.workers :]
        while len(self.workers) < settings.workers and self.stop_signal is None:
            worker = self._start(settings)
            if worker is None:
                return
            self.workers.append(worker)
        self.settings = settings
        logger.info("Reload complete: %d worker(s) serving", len(self.workers))

    def _start(self, settings: Settings) -> Worker | None:
        worker = Worker(self.sock, settings)
        return worker if self._ready(worker) else None

    def _ready(self, worker: Worker) -> bool:
        """Wait for a started worker to serve; a worker that can't is killed and reaped."""
        if worker.wait_ready(READY_SECONDS, lambda: self.stop_signal is not None):
            logger.info("Worker [%d] is serving", worker.pid)
            return True
        if worker.alive():
            worker.proc.kill()
        code = worker.proc.wait()
        if self.stop_signal is None:
            logger.error("Worker [%d] failed to start (exit status %s)", worker.pid, code)
        return False

    def _retire(self, worker: Worker) -> None:
        worker.signal(RETIRE_SIGNAL)
        worker.wait(STOP_SECONDS)
        logger.info("Worker [%d] retired", worker.pid)

    def _replace_dead(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.alive() or self.stop_signal is not None:
                continue
            code = worker.proc.returncode
            logger.error("Worker [%d] exited (status %s): starting another", worker.pid, code)
            time.sleep(RESPAWN_PAUSE)  # don't spin if it dies at once, again and again
            new = self._start(self.settings)
            if new is not None:
                self.workers[index] = new

    def _stop_all(self) -> None:
        for worker in self.workers:
            worker.signal(signal.SIGTERM)
        for worker in self.workers:
            worker.wait(STOP_SECONDS)
        self.workers = []

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum == signal.SIGHUP:
            self.pending.append(signum)
        else:
            self.stop_signal = signum
