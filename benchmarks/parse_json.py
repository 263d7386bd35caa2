"""CPU to read one v2 create_events body (api/body.py parse_json), in microseconds per body.

    .venv/bin/python benchmarks/parse_json.py [--repeat 2000]

Bodies of 25 and 500 typical events (benchmarks/ingest.py's), written as the agentops 0.3
client writes them (json.dumps: non-ASCII escaped), plain and with an emoji in every LLM
completion (escaped as a surrogate pair). Beside each, orjson's own parse of the same bytes:
what parse_json adds is its checks (long digit runs, depth, escaped NULs and surrogates).
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from functools import partial
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agentops_server.api.body import parse_json
from benchmarks.ingest import events_for


def body(events: int, emoji: bool) -> bytes:
    batch = events_for(events, 0)
    if emoji:
        for event in batch:
            if "completion" in event:
                event["completion"]["content"] += " \U0001f44d"
    return json.dumps({"events": batch}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="bodies of 25 parsed per size")
    args = parser.parse_args()
    for emoji in (False, True):
        for events in (25, 500):
            raw = body(events, emoji)
            number = max(10, args.repeat * 25 // events)
            ours = timeit.timeit(partial(parse_json, raw), number=number) / number * 1e6
            bare = timeit.timeit(partial(orjson.loads, raw), number=number) / number * 1e6
            kind = "with an emoji per LLM call" if emoji else "plain"
            print(
                f"{events:>3} events, {kind:27s} ({len(raw):,} bytes): parse_json {ours:7.1f} us, "
                f"orjson alone {bare:7.1f} us ({ours / events:.2f} us per event)",
                flush=True,
            )


if __name__ == "__main__":
    main()
