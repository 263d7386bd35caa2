"""What `import agentops` and `agentops.init()` cost a program's start, in fresh interpreters.

    .venv/bin/python benchmarks/sdk_init.py [--runs 20] [--sdk PATH ...] [--openai-first]

Starts one `agentops serve` (SQLite, temporary directory) and runs a script that times
`import agentops`, then `init()` (which starts a session), in wall time and in CPU time of the
calling thread (steadier on a shared machine), `--runs` times per SDK. Each `--sdk` is a
directory to put first on PYTHONPATH (default: this checkout's sdk/src); with several, their
runs alternate, so a before/after comparison sees the same load. The first run of each writes
its .pyc files and is not counted. `--openai-first` imports openai before agentops, as an agent
program does (httpx is then loaded already, and init() patches openai).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.server import ServerProcess  # noqa: E402

MEASURE = textwrap.dedent(
    """
    import sys, time
    if sys.argv[2] == "openai":
        import openai
    t0, c0 = time.perf_counter(), time.thread_time()
    import agentops
    t1, c1 = time.perf_counter(), time.thread_time()
    agentops.init(endpoint=sys.argv[1])
    t2, c2 = time.perf_counter(), time.thread_time()
    agentops.end_session("Success")
    print((t1 - t0) * 1000, (c1 - c0) * 1000, (t2 - t1) * 1000, (c2 - c1) * 1000)
    """
)
COLUMNS = ("import wall", "import cpu", "init() wall", "init() cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sdk", action="append", type=Path)
    parser.add_argument("--openai-first", action="store_true")
    args = parser.parse_args()
    sdks: list[Path] = args.sdk or [REPO / "sdk" / "src"]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "measure.py"
        script.write_text(MEASURE)
        server = ServerProcess(Path(tmp) / "server")
        server.start()
        try:
            results = measure(server, script, sdks, args.runs, args.openai_first)
        finally:
            server.stop()
    print(f"median (min) in ms of {args.runs} runs each")
    for sdk, rows in results.items():
        cells = [
            f"{name} {statistics.median(col):6.1f} ({min(col):6.1f})"
            for name, col in zip(COLUMNS, zip(*rows, strict=True), strict=True)
        ]
        print(f"{sdk}: " + " | ".join(cells))


def measure(
    server: ServerProcess, script: Path, sdks: list[Path], runs: int, openai_first: bool
) -> dict[Path, list[list[float]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOPS_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed SDK has its .pyc files
    env.update(AGENTOPS_API_KEY=server.api_key, AGENTOPS_SPOOL="false")
    results: dict[Path, list[list[float]]] = {sdk: [] for sdk in sdks}
    for run in range(runs + 1):
        for sdk in sdks:
            done = subprocess.run(
                [sys.executable, str(script), server.url, "openai" if openai_first else "-"],
                env={**env, "PYTHONPATH": str(sdk)},
                capture_output=True,
                text=True,
                check=True,
            )
            if run:
                results[sdk].append([float(x) for x in done.stdout.split()])
    return results


if __name__ == "__main__":
    main()
