"""Synthetic sessions in bulk, for benchmarks: a million rows in minutes, not hours.

Rows go in with multi-row inserts inside the store's own write transactions, so triggers,
constraints and indexes behave exactly as in production; only the per-session round trips of
the ingest path are skipped. Not used by the server.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, insert

from agentops_server.storage.schema import session_stats, session_tags, sessions
from agentops_server.storage.sql_store import SqlStore

STATES = ("Success", "Success", "Success", "Success", "Fail", "Indeterminate")


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    count: int
    start: datetime  # aware UTC; sessions spread evenly over `days` from here
    days: int = 365
    rare_tag_every: int = 10_000  # one session in N carries the tag "rare"
    chunk: int = 5_000
    seed: int = 7


def seed_sessions(store: SqlStore, project_id: str, spec: SyntheticSpec) -> Iterator[int]:
    """Insert `spec.count` ended sessions with stats and tags; yields the running total."""
    rng = random.Random(spec.seed)
    step = timedelta(days=spec.days) / max(spec.count, 1)
    done = 0
    while done < spec.count:
        size = min(spec.chunk, spec.count - done)
        rows: list[dict[str, Any]] = []
        stats: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for i in range(done, done + size):
            session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            init = spec.start + step * i
            seconds = rng.expovariate(1 / 90)
            state = rng.choice(STATES)
            session_tags_ = ["prod" if i % 3 else "staging", f"user-{rng.randrange(1000)}"]
            if i % spec.rare_tag_every == 0:
                session_tags_.append("rare")
            llms = rng.randrange(0, 40)
            rows.append(
                {
                    "id": session_id,
                    "project_id": project_id,
                    "init_timestamp": init,
                    "end_timestamp": init + timedelta(seconds=seconds),
                    "end_state": state,
                    "end_state_reason": "tool failed: timeout" if state == "Fail" else None,
                    "tags": session_tags_,
                    "host_env": None,
                    "created_at": init,
                    "last_activity_at": init,
                    "auto_ended": False,
                }
            )
            stats.append(
                {
                    "session_id": session_id,
                    "events": llms * 3 + 1,
                    "llms": llms,
                    "tools": llms,
                    "actions": llms + 1,
                    "errors": 1 if state == "Fail" else 0,
                    "prompt_tokens": llms * rng.randrange(200, 4000),
                    "completion_tokens": llms * rng.randrange(20, 800),
                    "cost_nanos": llms * rng.randrange(10_000, 9_000_000),
                }
            )
            tags += [
                {
                    "session_id": session_id,
                    "tag": t,
                    "project_id": project_id,
                    "init_timestamp": init,
                }
                for t in session_tags_
            ]
        store._transact(partial(_insert, rows=rows, stats=stats, tags=tags))
        done += size
        yield done


def _insert(
    conn: Connection,
    *,
    rows: list[dict[str, Any]],
    stats: list[dict[str, Any]],
    tags: list[dict[str, Any]],
) -> None:
    conn.execute(insert(sessions), rows)
    conn.execute(insert(session_stats), stats)
    conn.execute(insert(session_tags), tags)
