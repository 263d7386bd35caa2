"""OTLP ingestion speed of a real `agentops serve`: spans persisted per second, measured until
the stats endpoint shows every span's event, like benchmarks/ingest.py does for v2.

    .venv/bin/python benchmarks/otlp_ingest.py [--spans 102400] [--traces 200] [--clients 4]
                                               [--batch 512] [--engines sqlite,postgres]
                                               [--workers 1,2] [--same-text]

Requests are protobuf ExportTraceServiceRequests of `--batch` spans (512: agentops 0.4's batch
size), built before the clock starts and shaped like what agentops 0.4.21 sends: per trace a
task span holding OpenAI chat spans (with prompt, completion and usage) and @tool spans (with
input, output and a cost), children first; the session spans (roots) come last, in their own
requests. Each prompt (about 40 words), completion (about 60) and tool input and output has
words of its own, as real ones do; `--same-text` gives every span the same short texts (the
shape of the earlier measurements in docs/otel.md, which the search index and payloads make
cheaper).
Reports spans/s, request latency, the server's peak RSS and CPU per span.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.ingest import CpuMeter, _database, post_concurrently, print_table, rss_kib
from tests.support.otlp import (
    SpanSpec,
    agentops_llm_span,
    agentops_session_span,
    agentops_tool_span,
    new_trace_id,
    session_of,
    trace_request,
)
from tests.support.server import ServerProcess

WORDS = (
    "weather forecast city report summary invoice customer order refund shipping delay "
    "account balance meeting schedule calendar flight hotel booking price quote contract "
    "review draft email reply translate french german spanish python function error "
    "stack trace database query index latency budget token model agent tool search result"
).split()


def _sentence(rng: random.Random, words: int) -> str:
    """Text of `words` words drawn from WORDS, with a number in it: distinct per span, as
    prompts and answers are, so the search index and payloads cost what real ones do."""
    picked = rng.choices(WORDS, k=words)
    picked.insert(rng.randrange(words), str(rng.randrange(1_000_000)))
    return " ".join(picked).capitalize() + "."


def _vary(span: SpanSpec, rng: random.Random) -> SpanSpec:
    """The span with distinct prompt, completion, tool input and output."""
    attributes = dict(span.attributes)
    if "gen_ai.prompt.1.content" in attributes:
        attributes["gen_ai.prompt.1.content"] = _sentence(rng, 40)
        attributes["gen_ai.completion.0.content"] = _sentence(rng, 60)
    if "agentops.tool.input" in attributes:
        city = _sentence(rng, 2)
        attributes["agentops.tool.input"] = json.dumps({"args": [city], "kwargs": {}})
        attributes["agentops.tool.output"] = json.dumps(
            {"city": city, "temp_c": rng.randrange(-20, 40), "note": _sentence(rng, 12)}
        )
    return replace(span, attributes=attributes)


def build_spans(
    total: int, traces: int, *, varied: bool = True
) -> tuple[list[SpanSpec], list[SpanSpec]]:
    """(children, roots): `total` events in all, spread over `traces` traces; with `varied`,
    every LLM and tool span carries text of its own (else all carry the same words)."""
    rng = random.Random(1)
    per_trace = max(2, total // traces)
    children: list[SpanSpec] = []
    roots: list[SpanSpec] = []
    made = 0
    while made < total:
        trace_id = new_trace_id()
        root = agentops_session_span(trace_id, "bench")
        task = SpanSpec(
            "run.task",
            trace_id,
            parent=root.span_id,
            start_ms=0.5,
            end_ms=99,
            attributes={"agentops.span.kind": "task", "operation.name": "run"},
        )
        count = min(per_trace, total - made)
        for i in range(count - 1):
            if i % 2 == 0:
                span = agentops_llm_span(trace_id, task.span_id, start_ms=1 + i * 0.01)
            else:
                span = agentops_tool_span(trace_id, task.span_id, cost=0.001, start_ms=1 + i * 0.01)
            children.append(_vary(span, rng) if varied else span)
        children.append(task)
        roots.append(root)
        made += count
    return children, roots


def request_bodies(children: list[SpanSpec], roots: list[SpanSpec], batch: int) -> list[bytes]:
    """Protobuf export requests of `batch` spans: the children, then the roots."""
    return [
        trace_request(children[i : i + batch]).SerializeToString()
        for i in range(0, len(children), batch)
    ] + [
        trace_request(roots[i : i + batch]).SerializeToString() for i in range(0, len(roots), batch)
    ]


def visible_events(http: httpx.Client, server: ServerProcess, sessions: set[str]) -> int:
    """The events of these sessions, as the session list's stats show them (500 sessions per
    request: one request per session would cost the server more than a request of spans)."""
    seen: int = 0
    cursor: str | None = None
    while True:
        params = {"limit": "500"} | ({"cursor": cursor} if cursor else {})
        page = http.get(
            f"{server.url}/v2/sessions",
            params=params,
            headers={"X-Agentops-Api-Key": server.api_key},
        ).json()
        seen += sum(s["stats"]["events"] for s in page["data"] if s["id"] in sessions)
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def run(
    server: ServerProcess,
    total: int,
    traces: int,
    batch: int,
    clients: int,
    label: str,
    *,
    varied: bool = True,
) -> float:
    children, roots = build_spans(total, traces, varied=varied)
    bodies = request_bodies(children, roots, batch)
    headers = {
        "Content-Type": "application/x-protobuf",
        "Authorization": f"Bearer {server.api_key}",
    }
    assert server.proc is not None
    meter = CpuMeter(server.proc.pid, server.database_url)
    t0 = time.perf_counter()
    latencies = post_concurrently(
        f"{server.url}/v1/traces", [(body, headers) for body in bodies], clients
    )
    sessions = {session_of(root.trace_id) for root in roots}
    events = len(children)  # every non-root span is one event (no errors here)
    with httpx.Client(timeout=60, verify=False) as http:
        while visible_events(http, server, sessions) < events:
            pass
    elapsed = time.perf_counter() - t0
    spans = len(children) + len(roots)
    cpu = {part: seconds / spans * 1e6 for part, seconds in meter.used().items()}
    print(
        f"{label}, OTLP batches of {batch}: {spans:,} spans in {elapsed:.2f} s = "
        f"{spans / elapsed:,.0f} spans/s persisted ({len(bodies)} requests, {clients} clients; "
        f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, p90 "
        f"{latencies[int(len(latencies) * 0.9)] * 1000:.0f} ms); server peak RSS "
        f"{rss_kib(server.proc.pid, 'VmHWM') / 1024:.0f} MiB; CPU per span: server "
        f"{cpu['server']:.0f} us, PostgreSQL {cpu['postgres']:.0f} us, load generator "
        f"{cpu['client']:.0f} us",
        flush=True,
    )
    return spans / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--spans", type=int, default=102_400)
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--engines", default="sqlite", help="sqlite,postgres: throwaway databases")
    parser.add_argument("--workers", default="1", help="serve --workers N; a list runs each")
    parser.add_argument(
        "--same-text",
        action="store_true",
        help="every LLM and tool span with the same short texts (the earlier measurements' shape)",
    )
    args = parser.parse_args()
    rows = []
    for target in args.engines.split(","):
        for workers in [int(w) for w in args.workers.split(",")]:
            with tempfile.TemporaryDirectory() as tmp, _database(target) as url:
                engine = "sqlite" if url is None else "postgresql"
                label = f"{engine}, {workers} worker{'s' if workers > 1 else ''}"
                server = ServerProcess(
                    data_dir=Path(tmp),
                    database_url=url,
                    extra_args=["--log-level", "warning", "--workers", str(workers)],
                ).start()
                try:
                    rate = run(
                        server,
                        args.spans,
                        args.traces,
                        args.batch,
                        args.clients,
                        label,
                        varied=not args.same_text,
                    )
                finally:
                    server.stop()
                rows.append((label, args.batch, rate))
    if len(rows) > 1:
        print_table(rows)


if __name__ == "__main__":
    main()
