"""Slow and idle clients against `agentops serve`: the server's descriptors and memory, and the
latency of a normal request, while hundreds trickle and thousands idle.

    .venv/bin/python benchmarks/slow_clients.py [--scenario trickle|idle] [--seconds 40]
        [--body 500] [--headers 500] [--idle 10000] [--reconnect] [--server-src DIR]

`trickle`: --body connections send a request's headers and then one byte of its body per
second, and --headers connections send one header byte per second; `idle`: --idle kept-alive
connections each make one request and then say nothing. With --reconnect, a connection the
server closes is opened again at once. The attackers run in a process of their own; every
second this one prints the server's open descriptors and resident memory (`agentops serve`
and its worker processes, from /proc),
and the time a new connection takes to get GET /health answered, then the summary.
--server-src puts another checkout's server (e.g. /work/main/server/src) first on
PYTHONPATH, to measure it the same way. Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import ServerProcess  # noqa: E402


@dataclass
class Attack:
    reconnect: bool
    opened: int = 0
    closed_by_server: int = 0
    failed_to_connect: int = 0


def body_head(api_key: str) -> bytes:
    """A create_session whose body never finishes (an API key, so the server reads it)."""
    return (
        b"POST /v2/create_session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Agentops-Api-Key: " + api_key.encode() + b"\r\nContent-Length: 100000\r\n\r\n"
    )


HEADERS_HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\n"


async def _trickle(port: int, attack: Attack, stop: asyncio.Event, head: bytes) -> None:
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            attack.failed_to_connect += 1
            await asyncio.sleep(1)
            continue
        attack.opened += 1
        try:
            writer.write(head)
            while not reader.at_eof():
                await asyncio.sleep(1)
                writer.write(b"x")
                await writer.drain()
            attack.closed_by_server += 1
        except OSError:
            attack.closed_by_server += 1
        finally:
            writer.close()
        if not attack.reconnect:
            return


async def idle(port: int, attack: Attack, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError):
            attack.failed_to_connect += 1
            await asyncio.sleep(1)
            continue
        attack.opened += 1
        try:
            while await reader.read(65536):  # say nothing; wait for the server to close
                pass
            attack.closed_by_server += 1
        except OSError:
            attack.closed_by_server += 1
        finally:
            writer.close()
        if not attack.reconnect:
            return


def probe(port: int) -> float | None:
    """Seconds for a fresh connection's GET /health to be answered; None if it failed."""
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    except OSError:
        return None
    return time.perf_counter() - start if answer.startswith(b"HTTP/1.1 200") else None


def family(pid: int) -> list[int]:
    """The process and its descendants (`agentops serve` supervises worker processes)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += family(int(child))
    return found


def descriptors(pid: int) -> int:
    return sum(len(os.listdir(f"/proc/{p}/fd")) for p in family(pid))


def rss_mb(pid: int) -> float:
    total = 0.0
    for p in family(pid):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


async def attack(args: argparse.Namespace) -> None:
    """The attackers (a process of their own, so the probes are not queued behind them);
    prints their counts as JSON when stdin closes."""
    stop = asyncio.Event()
    attack = Attack(reconnect=args.reconnect)
    if args.scenario == "trickle":
        heads = [body_head(args.api_key)] * args.body + [HEADERS_HEAD] * args.headers
        work = [_trickle(args.port, attack, stop, head) for head in heads]
    else:
        work = [idle(args.port, attack, stop) for _ in range(args.idle)]
    tasks = [asyncio.create_task(coroutine) for coroutine in work]
    await asyncio.to_thread(sys.stdin.read)  # until the parent is done
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    counts = {k: v for k, v in vars(attack).items() if k != "reconnect"}
    print(json.dumps({"attackers": len(tasks), **counts}), flush=True)


def measure(args: argparse.Namespace, server: ServerProcess) -> None:
    assert server.proc is not None
    pid = server.proc.pid
    before = descriptors(pid), rss_mb(pid)
    command = [sys.executable, __file__, "--attack", "--port", str(server.port)]
    command += ["--api-key", server.api_key, "--scenario", args.scenario]
    command += ["--body", str(args.body), "--headers", str(args.headers), "--idle", str(args.idle)]
    command += ["--reconnect"] if args.reconnect else []
    attackers = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    print(f"before: {before[0]} descriptors, {before[1]:.0f} MB")
    print(f"{'s':>4} {'fds':>6} {'MB':>6} {'health ms':>10}")
    latencies: list[float] = []
    failures = peak_fds = 0
    t0 = time.monotonic()
    while (elapsed := time.monotonic() - t0) < args.seconds:
        latency = probe(server.port)
        fds, mb = descriptors(pid), rss_mb(pid)
        peak_fds = max(peak_fds, fds)
        if latency is None:
            failures += 1
        else:
            latencies.append(latency)
        shown = "failed" if latency is None else f"{latency * 1000:.1f}"
        print(f"{elapsed:4.0f} {fds:6d} {mb:6.0f} {shown:>10}", flush=True)
        time.sleep(max(0.0, 1 - (time.monotonic() - t0 - elapsed)))
    last_fds, last_mb = descriptors(pid), rss_mb(pid)
    out, _ = attackers.communicate("", timeout=120)
    counts = json.loads(out.strip().splitlines()[-1])
    median = statistics.median(latencies) * 1000 if latencies else float("nan")
    worst = max(latencies) * 1000 if latencies else float("nan")
    mode = "reconnecting" if args.reconnect else "not reconnecting"
    print(
        f"summary: {args.scenario}, {counts['attackers']} attackers ({mode}) for "
        f"{args.seconds} s: server descriptors {before[0]} -> peak {peak_fds}, at the end "
        f"{last_fds}; memory {before[1]:.0f} -> {last_mb:.0f} MB; GET /health on a new "
        f"connection median {median:.1f} ms, max {worst:.1f} ms, {failures} of "
        f"{failures + len(latencies)} failed; attacker connections opened "
        f"{counts['opened']}, closed by the server {counts['closed_by_server']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scenario", choices=["trickle", "idle"], default="trickle")
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--body", type=int, default=500)
    parser.add_argument("--headers", type=int, default=500)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--reconnect", action="store_true", help="attackers reconnect at once")
    parser.add_argument("--server-src", type=Path, help="another checkout's server/src")
    parser.add_argument("--attack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack:
        asyncio.run(attack(args))
        return
    env = {}
    if args.server_src:
        env["PYTHONPATH"] = f"{args.server_src.resolve()}:{os.environ.get('PYTHONPATH', '')}"
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(data_dir=Path(tmp) / "data", extra_env=env).start()
        try:
            measure(args, server)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
