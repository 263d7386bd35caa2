"""The spool: what the SDK could not deliver, kept on disk until a later process sends it.

A spool file is a journal of v2 protocol operations, one JSON document a line:

    {"v": 1, "endpoint": "...", "api_key": "...", "parent_key": null}      first line
    {"session": {...snapshot...}}                  create the session (or re-attach to it)
    {"session_id": "...", "events": [...]}         events, as the wire carries them
    {"session_id": "...", "end": {...snapshot...}} the session's last update

Replaying a file repeats those operations against its endpoint: the server re-attaches a
session by id and stores an event id once, so a file sent twice (or events also sent live)
is stored once. Two kinds of files share the directory:

- `*.spool`: written whole and atomically (temporary file, then rename) when the server stayed
  unreachable past the retry budget, or the process exits while it is down;
- `*.journal`: the durable mode's journal of a running process, appended every 100 ms and
  held under an exclusive `flock` by its process for its lifetime. The kernel drops the lock
  when the process dies (even by `kill -9`): an unlocked journal is an orphan to send.
  A child made by os.fork() leaves its parent's journal alone and journals to its own.

A sender takes a file by its exclusive lock, so two processes never send one file at once,
and deletes it once every operation was answered 2xx. The directory is bounded in bytes;
what does not fit is refused and counted by the caller as `spool_full`. Files are readable by
their owner only (they hold the API key). POSIX only: without `fcntl` the spool is off.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from agentops import wire
from agentops._errors import capture_internal_errors, logger
from agentops._threads import start_daemon_thread
from agentops._transport import Request, Response, Transport, TransportError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1
SPOOL_SUFFIX = ".spool"
JOURNAL_SUFFIX = ".journal"
EVENTS_PER_REQUEST = 500
JOURNAL_INTERVAL_SECONDS = 0.1
_RETRY_LATER = frozenset({408, 429, 500, 502, 503, 504})

Line = dict[str, Any]


def default_directory() -> Path:
    """$XDG_STATE_HOME/agentops/spool, else ~/.local/state/agentops/spool."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state) / "agentops" / "spool"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a file's operations go, and with which keys."""

    endpoint: str
    api_key: str
    parent_key: str | None = None

    def header(self) -> Line:
        return {
            "v": FORMAT_VERSION,
            "endpoint": self.endpoint,
            "api_key": self.api_key,
            "parent_key": self.parent_key,
        }


def session_line(snapshot: dict[str, Any]) -> Line:
    return {"session": snapshot}


def events_line(session_id: str, events: Sequence[dict[str, Any]]) -> Line:
    return {"session_id": session_id, "events": list(events)}


def end_line(session_id: str, snapshot: dict[str, Any]) -> Line:
    return {"session_id": session_id, "end": snapshot}


def _encode(line: Line) -> bytes:
    return json.dumps(line, separators=(",", ":"), default=str).encode() + b"\n"


def _new_name(suffix: str) -> str:
    """Sortable by creation time; unique across processes and hosts."""
    return f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}"


class Spool:
    """One spool directory, bounded to `max_bytes` in all."""

    def __init__(self, directory: Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        _spools.add(self)

    @property
    def available(self) -> bool:
        return fcntl is not None

    def _ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def room(self) -> int:
        """Bytes it can still take: 0 when it cannot be written here (no file locking on this
        system, a folder that cannot be made or written)."""
        if not self.available:
            return 0
        with self._lock:
            try:
                self._ensure_directory()
            except OSError:
                return 0
            if not os.access(self.directory, os.W_OK):
                return 0
            return max(0, self.max_bytes - self.used_bytes())

    def used_bytes(self) -> int:
        total = 0
        for path in self._files():
            try:
                total += path.stat().st_size
            except OSError:
                continue  # sent and deleted meanwhile
        return total

    def _files(self) -> list[Path]:
        try:
            entries = list(self.directory.iterdir())
        except OSError:
            return []
        return sorted(p for p in entries if p.suffix in (SPOOL_SUFFIX, JOURNAL_SUFFIX))

    # --- writing ------------------------------------------------------------------------
    def save(self, destination: Destination, lines: Sequence[Line]) -> bool:
        """Write one complete spool file atomically; False when it does not fit (or fails)."""
        if not self.available or not lines:
            return False
        data = _encode(destination.header()) + b"".join(_encode(line) for line in lines)
        with self._lock:
            try:
                self._ensure_directory()
                if self.used_bytes() + len(data) > self.max_bytes:
                    return False
                name = _new_name(SPOOL_SUFFIX)
                temporary = self.directory / f".{name}.tmp"
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, self.directory / name)
            except OSError as exc:
                logger.warning("Could not write to the spool %s: %s", self.directory, exc)
                return False
        return True

    def open_journal(self, destination: Destination) -> Journal | None:
        """A locked journal for this process (durable mode); None if the spool is unusable."""
        if not self.available:
            return None
        try:
            self._ensure_directory()
            return Journal(self, self.directory / _new_name(JOURNAL_SUFFIX), destination)
        except OSError as exc:
            logger.warning("Could not open a journal in %s: %s", self.directory, exc)
            return None

    # --- sending ------------------------------------------------------------------------
    def pending(self) -> int:
        """Files waiting to be sent (journals of running processes not counted)."""
        return sum(1 for _ in self._takeable(peek=True))

    def send_all(self, transport: Transport, timeout: float = 10.0) -> SendReport:
        """Send every file no other process holds; delete each one that went through."""
        report = SendReport()
        for path, handle in self._takeable(peek=False):
            with handle:
                try:
                    lines = _read_lines(handle)
                    delivered = _replay(lines, transport, timeout, report)
                except (OSError, ValueError) as exc:
                    logger.warning("Could not read spool file %s: %s", path.name, exc)
                    delivered = False
                if delivered:
                    _unlink(path)
                    report.files += 1
                else:
                    report.kept += 1
        return report

    def _takeable(self, *, peek: bool) -> Iterator[tuple[Path, BinaryIO]]:
        """Each file we can lock exclusively (no live process holds it), locked, still there."""
        if not self.available:
            return
        for path in self._files():
            try:
                handle = open(path, "rb")  # handed to the caller, who closes it
            except OSError:
                continue
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()  # a running process's journal, or another sender has it
                continue
            if os.fstat(handle.fileno()).st_nlink == 0:  # sent by another process meanwhile
                handle.close()
                continue
            if peek:
                handle.close()
            yield path, handle


@dataclass(slots=True)
class SendReport:
    files: int = 0  # files sent and deleted
    kept: int = 0  # files left for a later attempt
    events: int = 0  # events the server answered (stored, or had already)
    sessions: int = 0
    refused: int = 0  # events the server refused outright (not kept: retrying won't help)


def _read_lines(handle: BinaryIO) -> list[Line]:
    lines: list[Line] = []
    for raw in handle.read().splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            break  # a journal cut short by a crash mid-write: what came before is whole
        if isinstance(line, dict):
            lines.append(line)
    if not lines or lines[0].get("v") != FORMAT_VERSION:
        raise ValueError("not a spool file of this SDK version")
    return lines


def _replay(lines: list[Line], transport: Transport, timeout: float, report: SendReport) -> bool:
    """Repeat a file's operations in order. False (keep the file) at the first one that got
    no answer, or a busy or failing server's (408, 429, 5xx); what the server refuses outright
    (a revoked key, a session of another project) is skipped, counted and logged: sending it
    again would not change the answer."""
    header = lines[0]
    endpoint = str(header["endpoint"]).rstrip("/")
    key_headers = {wire.API_KEY_HEADER: str(header["api_key"])}
    if header.get("parent_key"):
        key_headers[wire.PARENT_KEY_HEADER] = str(header["parent_key"])
    tokens: dict[str, str | None] = {}  # session id -> token; None: the server refused it
    snapshots: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout

    def post(path: str, body: Line, headers: dict[str, str], count: int) -> bool | None:
        """True if stored, False if refused for good, None to try again later."""
        if time.monotonic() > deadline:
            return None
        request = Request(endpoint + path, path, _encode(body)[:-1], headers)
        try:
            res = transport.send(request)
        except TransportError:
            return None
        if 200 <= res.status < 300:
            return True
        if res.status in _RETRY_LATER:
            return None
        report.refused += count
        logger.warning("The server refused %s from the spool: HTTP %d", path, res.status)
        return False

    def token(session_id: str) -> str | None | bool:
        """The session's token; None if refused; False to try again later."""
        if session_id not in tokens:
            body = {"session": snapshots.get(session_id) or {"session_id": session_id}}
            request = Request(
                endpoint + wire.CREATE_SESSION, wire.CREATE_SESSION, _encode(body)[:-1], key_headers
            )
            try:
                res = transport.send(request)
            except TransportError:
                return False
            if res.status in _RETRY_LATER:
                return False
            jwt = _json_field(res, "jwt")
            if jwt is None:
                logger.warning(
                    "The server refused session %s from the spool: HTTP %d", session_id, res.status
                )
            else:
                report.sessions += 1
            tokens[session_id] = jwt
        return tokens[session_id]

    for line in lines[1:]:
        if isinstance(line.get("session"), dict):
            snapshot = line["session"]
            session_id = str(snapshot.get("session_id"))
            snapshots[session_id] = snapshot
            if token(session_id) is False:
                return False
            continue
        session_id = str(line.get("session_id"))
        jwt = token(session_id)
        if jwt is False:
            return False
        events = line.get("events") if isinstance(line.get("events"), list) else None
        if jwt is None:  # the session was refused: so is all of it
            report.refused += len(events or ())
            continue
        auth = {**key_headers, wire.AUTHORIZATION_HEADER: f"Bearer {jwt}"}
        if events is not None:
            for start in range(0, len(events), EVENTS_PER_REQUEST):
                chunk = events[start : start + EVENTS_PER_REQUEST]
                stored = post(wire.CREATE_EVENTS, {"events": chunk}, auth, len(chunk))
                if stored is None:
                    return False
                if stored:
                    report.events += len(chunk)
        elif isinstance(line.get("end"), dict):
            if post(wire.UPDATE_SESSION, {"session": line["end"]}, auth, 0) is None:
                return False
    return True


def _ok(res: Response | None) -> bool:
    return res is not None and 200 <= res.status < 300


def _json_field(res: Response | None, name: str) -> str | None:
    if not _ok(res):
        return None
    assert res is not None
    payload = res.json()
    value = payload.get(name) if isinstance(payload, dict) else None
    return value if isinstance(value, str) and value else None


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class Journal:
    """Durable mode: a process's operations appended to its locked journal file.

    `add()` costs the caller a list append; a daemon thread writes what was added every
    100 ms (JOURNAL_INTERVAL_SECONDS), so a process killed with SIGKILL loses at most the
    last interval. Lines are handed over as callables that build the line on the journal's
    thread (encoding an event is not the caller's cost). Writes go straight to the file
    descriptor (no buffer a forked child could write out again). A child made by os.fork()
    never writes, closes the lock of or deletes its parent's file (after_fork): it journals
    to a file of its own, made when it first has something to write.
    """

    def __init__(self, spool: Spool, path: Path, destination: Destination) -> None:
        self._spool = spool
        self._destination = destination
        self.path = path
        self._fd: int | None = None
        self._size = 0
        self._full = False
        self._added: list[Callable[[], Line | None]] = []
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._open(path)
        self._start()
        _journals.add(self)

    def _open(self, path: Path) -> None:
        """Create `path`, lock it for this process's lifetime and write the header."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            header = _encode(self._destination.header())
            _write_all(fd, header)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self.path, self._size, self._full = fd, path, len(header), False

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                start_daemon_thread(self._run, "agentops-journal", started=self._running)

    def _running(self, thread: threading.Thread) -> None:
        self._thread = thread

    def add(self, build: Callable[[], Line | None]) -> None:
        self._added.append(build)
        if self._thread is None:  # a forked child's first line
            self._start()

    def write_pending(self) -> None:
        """Write what was added so far (the journal's thread, and close())."""
        with self._write_lock:
            if self._closed:
                return
            added, self._added = self._added, []
            if not added:
                return
            chunks = []
            for build in added:
                with capture_internal_errors("journal line"):
                    line = build()
                    if line is not None:
                        chunks.append(_encode(line))
            data = b"".join(chunks)
            if self._fd is None:  # a forked child: a file of its own
                try:
                    self._spool._ensure_directory()
                    self._open(self._spool.directory / _new_name(JOURNAL_SUFFIX))
                except OSError as exc:
                    logger.warning("Could not open a journal in %s: %s", self._spool.directory, exc)
                    self._closed = True
                    return
            if self._size + len(data) > self._spool.max_bytes:
                if not self._full:
                    self._full = True
                    logger.warning(
                        "The durable journal %s reached the spool's limit (%d bytes): later "
                        "events are sent but not journaled",
                        self.path,
                        self._spool.max_bytes,
                    )
                return
            assert self._fd is not None
            _write_all(self._fd, data)
            self._size += len(data)

    def _run(self) -> None:
        while not self._closed:
            time.sleep(JOURNAL_INTERVAL_SECONDS)
            with capture_internal_errors("journal"):
                self.write_pending()

    def close(self, *, delivered: bool) -> None:
        """At exit: delete the journal if everything reached the server, else keep it for the
        next process (it stays a whole file: written out, then unlocked)."""
        with capture_internal_errors("journal close"):
            if not delivered:
                self.write_pending()
            with self._write_lock:
                if self._closed:
                    return
                self._closed = True
                fd, self._fd = self._fd, None
                if fd is None:  # a forked child that journaled nothing
                    return
                if delivered:
                    _unlink(self.path)
                os.close(fd)  # releases the lock

    def after_fork(self) -> None:
        """In a forked child: the parent's file is not ours. Closing our copy of its
        descriptor leaves the parent's lock in place (the parent's descriptor holds it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        self._added = []  # the parent's lines: the parent writes them
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread = None
        self._size = 0
        self._full = False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_spools: weakref.WeakSet[Spool] = weakref.WeakSet()
_journals: weakref.WeakSet[Journal] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for spool in list(_spools):
        spool._lock = threading.Lock()  # a thread of the parent may have held it
    for journal in list(_journals):
        journal.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
