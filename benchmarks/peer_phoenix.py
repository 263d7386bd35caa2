"""Side by side with a peer: the same OTLP spans sent to Arize Phoenix and to our server, one
after the other in one run; prints both rates and their ratio.

    .venv/bin/python benchmarks/peer_phoenix.py [--spans 20480] [--traces 40] [--clients 4]
                                                [--batch 512]

The spans are benchmarks/otlp_ingest.py's (agentops 0.4-shaped LLM and tool spans, protobuf
batches of 512, roots last). Each server runs on 127.0.0.1 with its embedded default database
(SQLite for both) in a temporary directory; each rate is measured until the server's own read
API shows every span (our stats endpoint; Phoenix's GraphQL `recordCount`). Phoenix runs from
.venv-phoenix (arize-phoenix pinned below), created on first use (a few minutes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.ingest import CpuMeter, post_concurrently, rss_kib
from benchmarks.otlp_ingest import build_spans, request_bodies, run
from tests.support.server import ServerProcess, free_port

PHOENIX = "arize-phoenix==20.26.1"
PHOENIX_VENV = Path(__file__).resolve().parent.parent / ".venv-phoenix"
START_TIMEOUT_SECONDS = 120.0
COUNT_QUERY = "query { projects { edges { node { name recordCount } } } }"


def phoenix_python() -> Path:
    """.venv-phoenix's python, with Phoenix installed (created here if missing)."""
    python = PHOENIX_VENV / "bin" / "python"
    marker = PHOENIX_VENV / f".installed-{PHOENIX}"
    if marker.exists():
        return python
    print(f"==> installing {PHOENIX} into {PHOENIX_VENV} (once; a few minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PHOENIX_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", PHOENIX], check=True)
    marker.touch()
    return python


class Phoenix:
    """`phoenix serve` on a free port, its SQLite database in `working_dir`."""

    def __init__(self, python: Path, working_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": str(working_dir),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(free_port()),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        self._log = (working_dir / "phoenix.log").open("w")
        self.proc = subprocess.Popen(
            [str(python), "-m", "phoenix.server.main", "serve"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"phoenix exited with {self.proc.returncode}; see its log")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"phoenix did not answer within {START_TIMEOUT_SECONDS:.0f} s")

    def spans_stored(self, http: httpx.Client) -> int:
        res = http.post(self.url + "/graphql", json={"query": COUNT_QUERY})
        res.raise_for_status()
        edges = res.json()["data"]["projects"]["edges"]
        return sum(int(edge["node"]["recordCount"]) for edge in edges)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def run_phoenix(python: Path, total: int, traces: int, batch: int, clients: int) -> float:
    children, roots = build_spans(total, traces)
    spans = [*children, *roots]
    bodies = request_bodies(children, roots, batch)
    headers = {"Content-Type": "application/x-protobuf"}
    with tempfile.TemporaryDirectory() as tmp:
        phoenix = Phoenix(python, Path(tmp))
        try:
            phoenix.wait_ready()
            meter = CpuMeter(phoenix.proc.pid, None)
            started = time.perf_counter()
            latencies = post_concurrently(
                phoenix.url + "/v1/traces", [(body, headers) for body in bodies], clients
            )
            answered = time.perf_counter() - started
            with httpx.Client(timeout=60) as http:
                while (stored := phoenix.spans_stored(http)) < len(spans):
                    time.sleep(0.2)
            elapsed = time.perf_counter() - started
            cpu_us = meter.used()["server"] / len(spans) * 1e6
            rss = rss_kib(phoenix.proc.pid, "VmHWM") / 1024
        finally:
            phoenix.stop()
    print(
        f"phoenix ({PHOENIX}, SQLite), OTLP batches of {batch}: {stored:,} spans in "
        f"{elapsed:.2f} s = {len(spans) / elapsed:,.0f} spans/s persisted (all {len(bodies)} "
        f"requests answered after {answered:.2f} s; latency p50 "
        f"{latencies[len(latencies) // 2] * 1000:.0f} ms); server peak RSS {rss:.0f} MiB; "
        f"server CPU per span {cpu_us:.0f} us",
        flush=True,
    )
    return len(spans) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_480)
    parser.add_argument("--traces", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()
    python = phoenix_python()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(data_dir=Path(tmp), extra_args=["--log-level", "warning"]).start()
        try:
            ours = run(server, args.spans, args.traces, args.batch, args.clients, "agentops")
        finally:
            server.stop()
    theirs = run_phoenix(python, args.spans, args.traces, args.batch, args.clients)
    print(f"\nagentops {ours:,.0f} spans/s, phoenix {theirs:,.0f} spans/s: {ours / theirs:.1f}x")


if __name__ == "__main__":
    main()
