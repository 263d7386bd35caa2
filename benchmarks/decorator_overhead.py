"""What one agentops 0.4 decorated call costs its caller: our SDK against agentops==0.4.21,
same local server, same run.

    .venv/bin/python benchmarks/decorator_overhead.py [--calls 20000] [--rounds 7]

Starts one `agentops serve` (SQLite, temporary directory) and runs the same measuring program
in two interpreters: ours (.venv) and the real agentops 0.4.21 (.venv-agentops04, exporting
OTLP to the same server). Inside one running trace, each times:
  flat    `@tool def step(x)` called in a loop;
  nested  `@task def outer(x)` calling the @tool `step` (two decorated calls);
against the same loops over the undecorated functions. Bursts of 400 calls are timed in CPU
time of the calling thread (time.thread_time: the caller's own cost, steady on a machine
that others load; the exporter's thread is not in it); between bursts (not timed) the SDK is
flushed, so the timed calls compete with no backlog. The figure is the median over rounds of
(decorated - undecorated) per decorated call, in microseconds.
Target (issue 12): at most 5 us per decorated call for ours.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.server import ServerProcess  # noqa: E402

AGENTOPS04_PYTHON = REPO / ".venv-agentops04" / "bin" / "python"
BURST = 400

MEASURE = textwrap.dedent(
    """
    import json, statistics, sys, time
    import agentops

    calls, rounds, key, url, burst = (
        int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    )
    agentops.init(api_key=key, endpoint=url, exporter_endpoint=url + "/v1/traces",
                  app_url=url, auto_start_session=False, instrument_llm_calls=False)
    get_jwt = getattr(agentops.get_client(), "get_current_jwt", None)
    while get_jwt is not None and get_jwt() is None:  # 0.4.21 authenticates in background
        time.sleep(0.02)

    if hasattr(agentops, "flush"):
        flush = agentops.flush
    else:  # agentops 0.4.21: its OpenTelemetry provider's batch processor
        from opentelemetry import trace as otel_trace
        flush = otel_trace.get_tracer_provider().force_flush

    def plain_step(x):
        return x

    def plain_outer(x):
        return plain_step(x)

    step = agentops.tool(plain_step)
    outer = agentops.task(plain_outer)

    def timed(func):
        total = 0.0
        done = 0
        while done < calls:
            started = time.thread_time()
            for i in range(burst):
                func(i)
            total += time.thread_time() - started
            done += burst
            flush()
        return total / done * 1e6

    ctx = agentops.start_trace("decorator-overhead", tags=["bench"])
    for i in range(1000):  # warm-up
        step(i)
        outer(i)
    flush()
    flat, nested = [], []
    for _ in range(rounds):
        flat.append(timed(step) - timed(plain_step))
        nested.append((timed(outer) - timed(plain_outer)) / 2)
    agentops.end_trace(ctx, "Success")
    trace_id = ctx.span.get_span_context().trace_id
    print(json.dumps({
        "flat_us": statistics.median(flat), "nested_us": statistics.median(nested),
        "flat_all": flat, "nested_all": nested, "calls": calls, "rounds": rounds,
        "session": "%032x" % trace_id,
    }))
    """
)


def run(python: Path | str, calls: int, rounds: int, server: ServerProcess) -> dict[str, Any]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGENTOPS_", "OTEL_")) and k != "VIRTUAL_ENV"
    }
    env["AGENTOPS_LOG_LEVEL"] = env["AGENTOPS_LOGGING_LEVEL"] = "WARNING"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    done = subprocess.run(
        [str(python), "-c", MEASURE, str(calls), str(rounds), server.api_key, server.url]
        + [str(BURST)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        cwd=tempfile.gettempdir(),  # agentops 0.4.21 writes agentops.log where it runs
    )
    if done.returncode != 0:
        raise SystemExit(f"{python} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(data_dir=Path(tmp) / "data").start()
        try:
            ours = run(sys.executable, args.calls, args.rounds, server)
            theirs = None
            if AGENTOPS04_PYTHON.exists():
                theirs = run(AGENTOPS04_PYTHON, args.calls, args.rounds, server)
        finally:
            server.stop()
    print(f"caller's cost per decorated call, median of {args.rounds} rounds x {args.calls} calls")
    print(f"{'':28}{'flat @tool':>14}{'@task > @tool':>16}")
    report("agentops (this repo)", ours)
    if theirs is None:
        print(f"agentops 0.4.21: not measured ({AGENTOPS04_PYTHON} is missing)")
        return
    report("agentops 0.4.21", theirs)
    print(
        f"{'0.4.21 / ours':28}{theirs['flat_us'] / ours['flat_us']:13.1f}x"
        f"{theirs['nested_us'] / ours['nested_us']:15.1f}x"
    )


def report(name: str, r: dict[str, Any]) -> None:
    print(f"{name:28}{r['flat_us']:11.2f} us{r['nested_us']:13.2f} us")


if __name__ == "__main__":
    main()
