"""Sessions with searchable events for benchmarks/dashboard.py --part search: `sessions`
sessions of `per_session` events each (1,000,000 events by default), appended through the
Store 1,000 events at a time as ingestion does, with prompts, completions and tool calls
drawn from a 2,000-word vocabulary, six models, fifty agent names, ten teams (tag and
metadata) and one rare word ("zanzibar") in one session of a thousand."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from agentops_server.storage.records import CostSource, EventWrite, SessionWrite
from agentops_server.storage.sql_store import SqlStore

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-5-haiku", "o3-mini", "custom")
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "pu", "de", "fo")


def vocabulary(rng: random.Random, size: int = 2000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randrange(2, 5))))
    return sorted(words)


def seed(
    store: SqlStore, project_id: str, start: datetime, sessions: int, per_session: int
) -> Iterator[int]:
    """Yields the events stored so far after each append."""
    rng = random.Random(13)
    words = vocabulary(rng)
    done = 0
    pending: list[EventWrite] = []
    for i in range(sessions):
        session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        began = start + timedelta(minutes=i)
        tags = ["bench-search", f"team-{i % 10}", *(["prod"] if i % 2 else [])]
        store.write_session(
            SessionWrite(
                id=session_id,
                project_id=project_id,
                init_timestamp=began,
                end_timestamp=began + timedelta(seconds=10 + i % 600),
                end_state="Fail" if i % 7 == 0 else "Success",
                tags=tags,
                metadata={"team": f"t{i % 10}"},
            ),
            create=True,
        )
        store.upsert_agent(session_id, f"agent-{i}", f"agent-{i % 50}")
        model = MODELS[i % len(MODELS)]
        for n in range(per_session):
            text = " ".join(rng.choice(words) for _ in range(30))
            if i % 1000 == 0 and n == per_session // 2:
                text = "zanzibar " + text
            kind = ("llms", "llms", "tools", "actions")[n % 4]
            llm = kind == "llms"
            at = began + timedelta(milliseconds=100 * n)
            pending.append(
                EventWrite(
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    session_id=session_id,
                    event_type=kind,
                    init_timestamp=at,
                    end_timestamp=at + timedelta(milliseconds=90),
                    agent_id=f"agent-{i}",
                    name=model if llm else f"{kind}-{n % 5}",
                    model=model if llm else None,
                    provider=None,
                    prompt_tokens=300 if llm else None,
                    completion_tokens=40 if llm else None,
                    cache_read_tokens=None,
                    cache_write_tokens=None,
                    reasoning_tokens=None,
                    cost_nanos=(i % 97) * 10_000 if llm else None,
                    cost_source=CostSource.COMPUTED if llm else CostSource.NONE,
                    payload={"prompt": [{"role": "user", "content": text}],
                             "completion": {"role": "assistant", "content": "ok " + text[:40]}}
                    if llm
                    else {"params": {"query": text[:80]}, "returns": {"rows": text[80:160]}},
                    parent_id=None,
                )
            )  # fmt: skip
            if len(pending) >= 1000:
                store.append_events(pending)
                done += len(pending)
                pending = []
                yield done
    if pending:
        store.append_events(pending)
        done += len(pending)
        yield done
