"""Where the server's CPU goes per OTLP span, stage by stage, in one process (no HTTP).

    .venv/bin/python benchmarks/otlp_stages.py [--spans 51200] [--traces 100] [--batch 512]
                                               [--database-url postgresql://...]

The same requests as benchmarks/otlp_ingest.py (agentops 0.4-shaped LLM and tool spans,
batches of 512, roots last), run through the server's own OTLP path one request at a time:
decode (protobuf -> spans), prepare (spans -> sessions and events: conventions, assembly,
pricing), write (the store's batch append: events, statistics, search index) and finish (late
updates). Prints CPU microseconds per span for each stage (time.thread_time: CPU, not
waiting; what the store's own threads spend is printed apart) and the rate their sum allows on
one core. `--profile FILE` writes a cProfile of the whole run.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agentops_server.app import tune_runtime
from agentops_server.config import ServerConfig
from agentops_server.ingest.otlp.pipeline import OtlpIngest
from agentops_server.ingest.writer import IngestWriter
from agentops_server.pricing import Pricer, load_price_table
from agentops_server.storage import migrate
from agentops_server.storage.sql_store import open_store
from benchmarks.otlp_ingest import build_spans, request_bodies

PROTOBUF = "application/x-protobuf"
STAGES = ("decode", "prepare", "write", "finish")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--spans", type=int, default=51_200)
    parser.add_argument("--traces", type=int, default=100)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--database-url", help="a throwaway PostgreSQL database (default SQLite)")
    parser.add_argument("--profile", help="write a cProfile of the stages to this file")
    args = parser.parse_args()
    children, roots = build_spans(args.spans, args.traces)
    bodies = request_bodies(children, roots, args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/agentops.sqlite3"
        migrate.upgrade(url)
        store = open_store(url)
        config = ServerConfig(database_url=url, data_dir=Path(tmp))
        ingest = OtlpIngest(store, Pricer(store), IngestWriter(store), config)
        project = store.create_project("bench").id
        load_price_table()  # as `agentops serve` does once started
        tune_runtime()
        spent = dict.fromkeys(STAGES, 0.0)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        wall = time.perf_counter()
        process = time.process_time()
        for body in bodies:
            t0 = time.thread_time()
            spans = ingest.decode(body, PROTOBUF)
            t1 = time.thread_time()
            prepared = ingest.prepare(spans, project)
            t2 = time.thread_time()
            store.append_event_batches([prepared.events])
            t3 = time.thread_time()
            ingest.finish(prepared)
            t4 = time.thread_time()
            for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                spent[stage] += seconds
        wall = time.perf_counter() - wall
        others = time.process_time() - process - sum(spent.values())
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        store.close()
    total = len(children) + len(roots)
    per_span = {stage: seconds / total * 1e6 for stage, seconds in spent.items()}
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{engine}, {total:,} spans in {len(bodies)} requests of up to {args.batch}:")
    for stage in STAGES:
        print(f"  {stage:8} {per_span[stage]:6.1f} us CPU per span")
    print(f"  {'(others)':8} {others / total * 1e6:6.1f} us CPU per span in other threads")
    cpu = sum(per_span.values())
    print(f"  {'total':8} {cpu:6.1f} us CPU per span -> at most {1e6 / cpu:,.0f} spans/s, one core")
    print(f"  wall {wall:.2f} s = {total / wall:,.0f} spans/s, the stages one request at a time")


if __name__ == "__main__":
    main()
