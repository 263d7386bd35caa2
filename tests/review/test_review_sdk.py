"""Adversarial review: SDK misuse scripts run in subprocesses against a real server.

Each script is what a careless user could write; the server's stats show what was kept.
A test marked xfail(strict=True) reproduces a confirmed bug.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import httpx

from tests.support.server import ServerProcess

PRELUDE = """
import os, signal, sys, uuid
import agentops
KEY, ENDPOINT = sys.argv[1], sys.argv[2]
"""


def _run(server: ServerProcess, body: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    script = PRELUDE + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script, server.api_key, server.url],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _session_id(done: subprocess.CompletedProcess[str]) -> str:
    for line in done.stdout.splitlines():
        if line.startswith("SESSION "):
            return line.split()[1]
    raise AssertionError(f"no session id printed:\n{done.stdout}\n{done.stderr}")


def _stats(server: ServerProcess, session_id: str, *, events: int) -> dict[str, object]:
    """The session's stats once `events` are stored (bounded wait: the SDK sends in background)."""
    stats: dict[str, object] = {}
    for _ in range(50):
        stats = server.stats(session_id).json()
        if stats["events"] == events and stats["end_timestamp"] is not None:
            break
        time.sleep(0.1)
    return stats


def test_misuse_never_raises_into_the_host(server: ServerProcess) -> None:
    """Held up: bad arguments, unserializable and huge values, double ends, no key: the host
    keeps running, and the good events are stored."""
    done = _run(
        server,
        """
        assert agentops.init(endpoint=ENDPOINT) is None            # no key: warns, does nothing
        assert agentops.init(api_key="nope", endpoint=ENDPOINT) is None
        s = agentops.init(api_key=KEY, endpoint=ENDPOINT)
        print("SESSION", s.session_id)
        for bad in (None, 5, "x", {"event_type": "actions"}):
            agentops.record(bad)
        class Hostile:
            def __repr__(self): raise RuntimeError("no repr")
            def __getattr__(self, name): raise RuntimeError("no attr")
        loop = []; loop.append(loop)
        deep = []; cur = deep
        for _ in range(5000):
            nxt = []; cur.append(nxt); cur = nxt
        for params in ({"h": Hostile()}, {"loop": loop}, {"deep": deep},
                       {"b": b"\\xff", "set": {1}, "nan": float("nan"), "big": 2**200},
                       {"huge": "a" * (5 * 1024 * 1024)}):
            agentops.record(agentops.ActionEvent(action_type="odd", params=params))
        for state in ("Bogus", None, 5):
            assert agentops.end_session(state) is None
        print("COST", agentops.end_session("Success"))
        print("AGAIN", agentops.end_session("Success"), s.end_session("Fail"))
        agentops.record(agentops.ActionEvent(action_type="after-end"))
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "COST 0" in done.stdout
    stats = _stats(server, _session_id(done), events=5)
    assert stats["events"] == 5
    assert stats["end_state"] == "Success"


def test_server_down_at_start_the_host_exits_promptly(server: ServerProcess) -> None:
    """Held up: with nothing listening, init/record return at once and the process exits
    after the documented deadlines (end_session waits max 5 s, exit 2 s), status 0."""
    dead = "http://127.0.0.1:9"
    script = PRELUDE + textwrap.dedent(
        """
        agentops.init(api_key=KEY, endpoint=ENDPOINT)
        for _ in range(100):
            agentops.record(agentops.ActionEvent(action_type="x"))
        print("END", agentops.end_session("Success"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, server.api_key, dead],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "END None" in done.stdout
    assert "not sent" in done.stderr
    # the real server saw nothing from it
    listing = httpx.get(
        f"{server.url}/v2/sessions", headers={"X-Agentops-Api-Key": server.api_key}, timeout=30
    ).json()
    assert listing["data"] == []
