"""The 0.4 trace API never makes the agent wait on the network: every ending queues the end
and returns, server up, down (a closed port) or silent (accepts, never answers); an async
agent's event loop keeps running; everything arrives afterwards, or is spooled and sent by the
next run. 0.3's end_session() waits for the cost only while the server may answer."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.sdk.conftest import export, run_script, script_env
from tests.support.server import ServerProcess, free_port

# Each ending took 5 s (flush_timeout) with the server down, the first 1-1.7 s with it up;
# a generous bound for a loaded machine: this tests behaviour, it is not a benchmark.
QUICK = 0.5

# A program of agentops 0.4 endings of every kind; prints what each took (s), the longest
# pause of a ticker task while three async traces ended, and the traces' ids.
PROGRAM = """
import asyncio, json, time
import agentops

agentops.init(auto_start_session=False)
took = {}

def timed(name, end):
    started = time.monotonic()
    end()
    took[name] = max(took.get(name, 0.0), time.monotonic() - started)

@agentops.tool
def step(i):
    return i * 2

@agentops.trace(name="job")
def job(i):
    return step(i)

for i in range(3):
    timed("decorator", lambda: job(i))
ctx = agentops.start_trace("explicit")
step(1)
timed("end_trace(ctx)", lambda: agentops.end_trace(ctx, "Success"))
def block():
    with agentops.start_trace("with-block"):
        step(2)
timed("with", block)
for name in ("all-a", "all-b"):
    agentops.start_trace(name)
timed("end_trace()", agentops.end_trace)

@agentops.trace(name="async-job")
async def async_job(i):
    await asyncio.sleep(0)
    return step(i)

async def main():
    pauses, running = [], True
    async def ticker():
        last = time.monotonic()
        while running:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            pauses.append(now - last)
            last = now
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    await asyncio.gather(*(async_job(i) for i in range(3)))
    await asyncio.sleep(0.05)
    running = False
    await task
    return max(pauses)

took["event loop pause"] = asyncio.run(main())
print(json.dumps(took), flush=True)
"""

NAMES = {"job", "explicit", "with-block", "all-a", "all-b", "async-job"}


def timings(stdout: str) -> dict[str, float]:
    took: dict[str, float] = json.loads(stdout.splitlines()[-1])
    return took


def assert_quick(took: dict[str, float]) -> None:
    slow = {name: seconds for name, seconds in took.items() if seconds >= QUICK}
    assert not slow, f"these waited on the network: {slow} (all: {took})"


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(100)
    try:
        yield int(silent.getsockname()[1])
    finally:
        silent.close()


def stored_names(server: ServerProcess) -> dict[str, str]:
    """The stored sessions' end states by name."""
    import httpx

    res = httpx.get(
        f"{server.url}/v2/sessions?limit=100",
        headers={"X-Agentops-Api-Key": server.api_key},
        timeout=30,
    )
    assert res.status_code == 200, res.text
    states: dict[str, str] = {}
    for row in res.json()["data"]:
        states[row["name"]] = row["end_state"]
    return states


def test_trace_endings_return_at_once_and_arrive(server: ServerProcess, tmp_path: Path) -> None:
    env = script_env(server, AGENTOPS_SPOOL_DIR=str(tmp_path / "spool"))
    done = run_script(tmp_path, PROGRAM, env)
    assert done.returncode == 0, done.stderr
    assert_quick(timings(done.stdout))
    states = stored_names(server)
    assert {name: states.get(name) for name in NAMES} == dict.fromkeys(NAMES, "Success")


def test_trace_endings_do_not_wait_for_a_server_that_is_down(tmp_path: Path) -> None:
    """Nothing listens on the port: every ending returns at once, the events and ends go to
    the spool at exit, and the next run, with the server back on that port, sends them."""
    port = free_port()
    spool = tmp_path / "spool"
    env = script_env(
        AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{port}",
        AGENTOPS_SPOOL_DIR=str(spool),
    )
    server = ServerProcess(data_dir=tmp_path / "server", port=port)
    env["AGENTOPS_API_KEY"] = server.create_project()[1]
    server.api_key = env["AGENTOPS_API_KEY"]
    done = run_script(tmp_path, PROGRAM, env)
    assert done.returncode == 0, done.stderr
    assert_quick(timings(done.stdout))
    assert "kept in the spool" in done.stderr, done.stderr
    server.start()
    try:
        later = run_script(
            tmp_path,
            "import agentops, time\nagentops.init(auto_start_session=False)\n",
            {**env, "AGENTOPS_SHUTDOWN_TIMEOUT": "30"},
        )
        assert later.returncode == 0, later.stderr
        states = stored_names(server)
        assert {name: states.get(name) for name in NAMES} == dict.fromkeys(NAMES, "Success")
    finally:
        server.stop()


def test_trace_endings_do_not_wait_for_a_server_that_never_answers(tmp_path: Path) -> None:
    with silent_port() as port:
        env = script_env(
            AGENTOPS_API_KEY="00000000-0000-4000-8000-000000000000",
            AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{port}",
            AGENTOPS_SPOOL_DIR=str(tmp_path / "spool"),
            AGENTOPS_SHUTDOWN_TIMEOUT="1",
        )
        done = run_script(tmp_path, PROGRAM, env)
    assert done.returncode == 0, done.stderr
    assert_quick(timings(done.stdout))
    assert "kept in the spool" in done.stderr, done.stderr


def test_end_session_does_not_wait_for_a_server_known_to_be_down(tmp_path: Path) -> None:
    """0.3's end_session() waits for the cost while the server may answer (flush_timeout, 5 s);
    once a request found nothing listening (the first session's), it returns None at once."""
    port = free_port()
    env = script_env(
        AGENTOPS_API_KEY="00000000-0000-4000-8000-000000000000",
        AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{port}",
        AGENTOPS_SPOOL_DIR=str(tmp_path / "spool"),
    )
    done = run_script(
        tmp_path,
        """
        import time
        import agentops
        took = []
        for _ in range(2):
            agentops.init()
            started = time.monotonic()
            cost = agentops.end_session("Success")
            took.append(time.monotonic() - started)
            print(cost)
        print(took[1])  # the first may wait: nothing was known of the server yet
        """,
        env,
    )
    assert done.returncode == 0, done.stderr
    first, second, longest = done.stdout.split()
    assert (first, second) == ("None", "None")
    assert float(longest) < QUICK, done.stdout
    assert "is unreachable, so its end was not waited for" in done.stderr, done.stderr


def test_end_session_still_returns_the_cost_from_a_healthy_server(
    server: ServerProcess, tmp_path: Path
) -> None:
    done = run_script(
        tmp_path,
        """
        import agentops
        session = agentops.init()
        print(session.session_id, agentops.end_session("Success"))
        """,
        script_env(server, AGENTOPS_SPOOL_DIR=str(tmp_path / "spool")),
    )
    assert done.returncode == 0, done.stderr
    sid, cost = done.stdout.split()
    assert cost == "0"  # the server's answer (no LLM calls), not None
    assert export(server, sid)["session"]["end_state"] == "Success"


def test_the_host_environment_follows_a_session_created_before_it_was_collected(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The session is created at once, with what was collected so far (or nothing); the
    package lists follow in an update once read. A run shorter than that scan exits without
    waiting for it, and its session has the rest of the host environment."""
    env = script_env(server, AGENTOPS_SPOOL_DIR=str(tmp_path / "spool"))
    done = run_script(
        tmp_path,
        """
        import agentops
        from agentops import _host
        agentops.init(auto_start_session=False)
        with agentops.start_trace("waits-for-the-scan") as ctx:
            pass
        _host.start(False).result()  # the whole host environment collected, then sent
        agentops.flush()
        with agentops.start_trace("short") as short:
            pass
        print(ctx.session.session_id, short.session.session_id)
        """,
        env,
    )
    assert done.returncode == 0, done.stderr
    full_id, short_id = done.stdout.split()
    full = export(server, full_id)["session"]["host_env"]
    assert "Installed Packages" in full and "System Packages" in full["SDK"], full
    assert full["SDK"]["Python Version"] and full["OS"]["OS"]
    short = export(server, short_id)["session"]["host_env"]
    assert short is not None and short["OS"]["OS"], short
