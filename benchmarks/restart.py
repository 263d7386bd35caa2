"""What a SIGHUP restart of `agentops serve` costs a client that never retries: the real
agentops 0.3.26 client (.venv-agentops026) records events without pause while the server is
reloaded several times; then the events it recorded are compared with what the export API
stores, and a probe that opened a new connection every 10 ms reports its longest request.

    .venv/bin/python -m benchmarks.restart [--engines sqlite,postgres] [--workers 1,2]
                                           [--reloads 5] [--interval 0.002]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.test_agentops026 import client_env
from tests.support.postgres import fresh_database
from tests.support.probe import ConnectionProbe
from tests.support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
PYTHON_026 = ROOT / ".venv-agentops026" / "bin" / "python"
STREAM = ROOT / "tests" / "e2e" / "scripts" / "stream026.py"


@contextmanager
def database(engine: str, where: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{where / 'agentops.sqlite3'}"
    else:
        with fresh_database() as url:
            yield url


def run(engine: str, workers: int, reloads: int, interval: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, database(engine, Path(tmp)) as url:
        server = ServerProcess(
            data_dir=Path(tmp) / "data",
            database_url=url,
            extra_args=["--workers", str(workers)],
        ).start()
        try:
            client = subprocess.Popen(
                [str(PYTHON_026), str(STREAM), server.url, server.api_key, str(interval)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=client_env(),
            )
            assert client.stdout is not None and client.stdin is not None
            session_id = json.loads(client.stdout.readline())["session_id"]
            started = time.monotonic()
            with ConnectionProbe(f"{server.url}/health") as probe:
                time.sleep(2)
                for _ in range(reloads):
                    server.reload()
                    time.sleep(1)
            client.stdin.write("done\n")
            client.stdin.flush()
            out, err = client.communicate(timeout=300)
            seconds = time.monotonic() - started
            recorded = int(json.loads(out.strip().splitlines()[-1])["recorded"])
            export = server.export(session_id).json()
            steps = [a["params"]["n"] for a in export["actions"]]
            return {
                "engine": engine,
                "workers": workers,
                "reloads": reloads,
                "seconds": round(seconds, 1),
                "sent": recorded,
                "stored": len(set(steps)),
                "lost": recorded - len(set(steps) & set(range(recorded))),
                "duplicated": len(steps) - len(set(steps)),
                "client_errors": err.count("Failed to send events") + err.count("Queue full"),
                "probe_requests": probe.requests,
                "probe_refused": len(probe.failures),
                "longest_request_ms": round(probe.longest * 1000, 1),
            }
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--reloads", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.002, help="seconds between events")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            print(json.dumps(run(engine, workers, args.reloads, args.interval)), flush=True)


if __name__ == "__main__":
    main()
