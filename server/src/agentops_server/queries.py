"""Read functions shared by the export API, the CLI and the dashboard: store records -> JSON.

Costs are decimal strings of USD ("0.00034485"), exact to the nano-dollar. A cost that could
not be priced is null, never 0: stats say how many LLM events have an unknown cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from agentops_server.config import ServerConfig
from agentops_server.storage.records import (
    Event,
    Session,
    SessionFilter,
    SessionStats,
    nanos_to_usd,
)
from agentops_server.storage.store import Store
from agentops_server.timestamps import iso

EVENT_TYPES = ("actions", "llms", "tools", "errors")
EXPORT_CHUNK_EVENTS = 500
MAX_PAGE_SIZE = 500
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def format_usd(nanos: int | None) -> str | None:
    """Nano-USD as an exact decimal string without trailing zeros; None stays None."""
    usd = nanos_to_usd(nanos)
    if usd is None:
        return None
    text = format(usd, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def session_url(config: ServerConfig, session_id: str) -> str:
    """Where the dashboard shows a session."""
    return f"{config.base_url.rstrip('/')}/sessions/{session_id}"


# --- sessions and stats ----------------------------------------------------------------------
def session_json(session: Session, *, host_env: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": session.id,
        "project_id": session.project_id,
        "project_id_secondary": session.parent_project_id,
        "init_timestamp": iso(session.init_timestamp),
        "end_timestamp": iso(session.end_timestamp),
        "end_state": session.end_state,
        "end_state_reason": session.end_state_reason,
        "auto_ended": session.auto_ended,
        "tags": list(session.tags),
        "video": session.video,
        "name": session.name,
        "metadata": session.metadata,
        "dropped_events": session.dropped_events or {},
    }
    if host_env:
        data["host_env"] = session.host_env
    return data


def duration_seconds(session: Session) -> float:
    """End minus start; for a session without an end, its last event minus start (so far)."""
    until = session.end_timestamp or session.stats.last_event_at or session.init_timestamp
    return max(0.0, (until - session.init_timestamp).total_seconds())


def session_cost(stats: SessionStats) -> str | None:
    """The known cost; null when the session has LLM events and none of them could be priced."""
    if stats.llms and stats.unknown_cost_events >= stats.llms:
        return None
    return format_usd(stats.cost_nanos)


def stats_json(session: Session) -> dict[str, Any]:
    """AgentOps' stats fields, plus duration, end state, counts per type and token details."""
    stats = session.stats
    return {
        "session_id": session.id,
        "cost": session_cost(stats),
        "events": stats.events,
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "errors": stats.errors,
        "duration": duration_seconds(session),
        "init_timestamp": iso(session.init_timestamp),
        "end_timestamp": iso(session.end_timestamp),
        "end_state": session.end_state,
        "end_state_reason": session.end_state_reason,
        "event_counts": {
            "llms": stats.llms,
            "tools": stats.tools,
            "actions": stats.actions,
            "errors": stats.errors,
        },
        "cache_read_tokens": stats.cache_read_tokens,
        "cache_write_tokens": stats.cache_write_tokens,
        "reasoning_tokens": stats.reasoning_tokens,
        "unknown_cost_events": stats.unknown_cost_events,
        "cost_complete": stats.unknown_cost_events == 0,
        "first_event_at": iso(stats.first_event_at),
        "last_event_at": iso(stats.last_event_at),
        "dropped_events": session.dropped_events or {},
    }


def get_stats(store: Store, project_id: str, session_id: str) -> dict[str, Any]:
    """Raises storage NotFound for an unknown session or one of another project."""
    return stats_json(store.get_session(project_id, session_id))


def list_sessions(
    store: Store, project_id: str, filters: SessionFilter, cursor: str | None, limit: int
) -> dict[str, Any]:
    """{"data": [sessions newest first, each with its stats], "next_cursor"}."""
    page = store.list_sessions(project_id, filters, cursor, max(1, min(limit, MAX_PAGE_SIZE)))
    data = [{**session_json(s, host_env=False), "stats": stats_json(s)} for s in page.sessions]
    return {"data": data, "next_cursor": page.next_cursor}


# --- events ----------------------------------------------------------------------------------
def wrap_message(value: Any) -> dict[str, Any] | None:
    """AgentOps' storage of prompts and completions: ChatML when it is chat messages."""
    if value is None or value == "":
        return None
    if isinstance(value, list) and value and all(_is_message(m) for m in value):
        return {"type": "chatml", "messages": value}
    if _is_message(value):
        return {"type": "chatml", "messages": value}
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return {"type": "chatml", "messages": value["messages"]}
    text = value if isinstance(value, str) else _encode(value)
    return {"type": "string", "string": text}


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str)


def event_json(event: Event) -> dict[str, Any]:
    """One event in AgentOps' export row shape for its type; other sent fields are kept."""
    data: dict[str, Any] = dict(event.payload)
    data.update(
        id=event.id,
        session_id=event.session_id,
        parent_id=event.parent_id,
        agent_id=event.agent_id,
        init_timestamp=iso(event.init_timestamp),
        end_timestamp=iso(event.end_timestamp),
        params=event.payload.get("params"),
        returns=event.payload.get("returns"),
    )
    kind = event.event_type
    if kind == "llms":
        data.update(
            thread_id=event.payload.get("thread_id"),
            prompt=wrap_message(event.payload.get("prompt")),
            completion=wrap_message(event.payload.get("completion")),
            model=event.model,
            provider=event.provider,
            prompt_tokens=event.prompt_tokens,
            completion_tokens=event.completion_tokens,
            cache_read_tokens=event.cache_read_tokens,
            cache_write_tokens=event.cache_write_tokens,
            reasoning_tokens=event.reasoning_tokens,
            cost=format_usd(event.cost_nanos),
            cost_source=event.cost_source,
        )
    elif kind == "tools":
        data.update(name=event.name, logs=event.payload.get("logs"))
    elif kind == "errors":
        data.update(
            error_type=event.name,
            code=event.payload.get("code"),
            details=event.payload.get("details"),
            logs=event.payload.get("logs"),
            trigger_event_id=event.payload.get("trigger_event_id"),
            trigger_event_type=event.payload.get("trigger_event_type"),
            timestamp=iso(event.init_timestamp),
        )
    else:
        data.update(
            action_type=event.name,
            logs=event.payload.get("logs"),
            screenshot=event.payload.get("screenshot"),
        )
    if kind != "llms" and event.cost_nanos is not None:  # e.g. agentops 0.4's @tool(cost=)
        data.update(cost=format_usd(event.cost_nanos), cost_source=event.cost_source)
    return data


def export_session(store: Store, project_id: str, session_id: str) -> Iterator[bytes]:
    """The full export as JSON bytes, produced chunk by chunk so memory stays flat.

    The session is looked up now (raising NotFound before anything is sent); events are
    read lazily as the returned iterator is consumed.
    """
    session = store.get_session(project_id, session_id)
    agents = store.list_agents(session_id)
    head = {
        "session": session_json(session),
        "stats": stats_json(session),
        "agents": [{"id": a.id, "session_id": a.session_id, "name": a.name} for a in agents],
    }
    return _export_chunks(store, session_id, _encode(head)[:-1])


def _encode_event(event: Event) -> str:
    """One export row; a payload too deeply nested to encode is replaced by a note."""
    row = event_json(event)
    try:
        return _encode(row)
    except RecursionError:
        note = "<not exported: nested too deeply>"
        return _encode({k: (v if not isinstance(v, dict | list) else note) for k, v in row.items()})


def _export_chunks(store: Store, session_id: str, head: str) -> Iterator[bytes]:
    yield head.encode()
    logs = [
        {"received_at": iso(log.received_at), "body": log.body}
        for log in store.list_session_logs(session_id)
    ]
    yield ("," + _encode({"logs": logs})[1:-1]).encode()
    for kind in EVENT_TYPES:
        parts = [f',"{kind}":[']
        first = True
        for event in store.iter_events(session_id, kind):
            parts.append(_encode_event(event) if first else "," + _encode_event(event))
            first = False
            if len(parts) >= EXPORT_CHUNK_EVENTS:
                yield "".join(parts).encode()
                parts = []
        parts.append("]")
        yield "".join(parts).encode()
    yield b"}"
