"""The listening socket: bound by `agentops serve`, or handed over by systemd (LISTEN_FDS).

The supervisor opens it once and passes it to every worker it starts, so it stays open, and
connections wait in its backlog, while workers are replaced."""

from __future__ import annotations

import os
import socket
from collections.abc import MutableMapping

SD_LISTEN_FDS_START = 3  # sd_listen_fds(3): the first socket systemd passes
BACKLOG = 2048


def systemd_socket(environ: MutableMapping[str, str]) -> socket.socket | None:
    """The first socket systemd passed to this process (socket activation), else None.

    Removes LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES from `environ` as sd_listen_fds() does, so
    that processes started later don't take them for their own."""
    pid, count = environ.get("LISTEN_PID", ""), environ.get("LISTEN_FDS", "")
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(name, None)
    if not pid.isdigit() or int(pid) != os.getpid() or not count.isdigit() or int(count) < 1:
        return None
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    if sock.type != socket.SOCK_STREAM:
        raise OSError("the socket systemd passed is not a stream socket (ListenStream=)")
    return sock


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def address(sock: socket.socket) -> tuple[str, int]:
    """(host, port) the socket listens on."""
    name = sock.getsockname()
    return str(name[0]), int(name[1])
