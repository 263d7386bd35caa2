"""Builders for storage tests: realistic sessions and events with few keystrokes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agentops_server.storage.records import CostSource, EventWrite, Session, SessionWrite
from agentops_server.storage.sql_store import SqlStore

T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A timestamp `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def event(
    session_id: str,
    event_id: str | None = None,
    *,
    event_type: str = "llms",
    start: float = 0.0,
    duration: float = 1.0,
    prompt_tokens: int | None = 10,
    completion_tokens: int | None = 5,
    cost_nanos: int | None = 1_000,
    cache_read_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    payload: dict[str, Any] | None = None,
    parent_id: str | None = None,
    agent_id: str | None = None,
) -> EventWrite:
    is_llm = event_type == "llms"
    return EventWrite(
        id=event_id or str(uuid.uuid4()),
        session_id=session_id,
        event_type=event_type,
        init_timestamp=at(start),
        end_timestamp=at(start + duration),
        agent_id=agent_id,
        name="gpt-4o" if is_llm else f"{event_type}-name",
        model="gpt-4o" if is_llm else None,
        provider="openai" if is_llm else None,
        prompt_tokens=prompt_tokens if is_llm else None,
        completion_tokens=completion_tokens if is_llm else None,
        cache_read_tokens=cache_read_tokens if is_llm else None,
        cache_write_tokens=None,
        reasoning_tokens=reasoning_tokens if is_llm else None,
        cost_nanos=cost_nanos if is_llm else None,
        cost_source=(
            (CostSource.COMPUTED if cost_nanos is not None else CostSource.UNKNOWN_MODEL)
            if is_llm
            else CostSource.NONE
        ),
        payload=payload if payload is not None else {"params": {"n": 1}, "note": "héllo"},
        parent_id=parent_id,
    )


@dataclass
class Seed:
    store: SqlStore
    project_id: str

    @classmethod
    def create(cls, store: SqlStore, name: str = "Test") -> Seed:
        return cls(store, store.create_project(name).id)

    def session(
        self,
        session_id: str | None = None,
        *,
        start: float = 0.0,
        tags: list[str] | None = None,
        **fields: Any,
    ) -> Session:
        write = SessionWrite(
            id=session_id or str(uuid.uuid4()),
            project_id=self.project_id,
            init_timestamp=at(start),
            tags=tags,
            **fields,
        )
        return self.store.write_session(write, create=True)
