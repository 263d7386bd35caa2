"""Read functions of the dashboard pages: each page renders the dict returned here, and its
JSON twin returns the same dict. They extend queries.py (whose session, stats and event JSON
they reuse) with the overview, sorted session lists and the windowed event timeline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentops_server import queries
from agentops_server.storage.dashboard_records import (
    BucketPoint,
    EventBrief,
    EventMatch,
    EventWindow,
    Latency,
    SessionSort,
    TreeLevel,
)
from agentops_server.storage.records import (
    ApiKey,
    Project,
    Session,
    SessionFilter,
)
from agentops_server.storage.store import Store
from agentops_server.timestamps import iso

TREE_PAGE = 200  # nodes per page of a tree level (the session page shows the first top page)


# --- projects and keys -----------------------------------------------------------------------
def project_json(project: Project) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "created_at": iso(project.created_at)}


def list_projects(store: Store) -> dict[str, Any]:
    return {"data": [project_json(p) for p in store.list_projects()]}


def api_key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "label": key.label,
        "prefix": key.prefix,
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
    }


def list_api_keys(store: Store, project: Project) -> dict[str, Any]:
    keys = [api_key_json(k) for k in store.list_api_keys(project.id)]
    return {"data": {"project": project_json(project), "keys": keys}}


# --- overview ----------------------------------------------------------------------------------
HOURLY_UP_TO = timedelta(days=2)  # ranges this short are charted by the hour


def overview(
    store: Store, project: Project, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """Totals, a per-hour (ranges up to 2 days) or per-day series (UTC), every model, and the
    LLM calls' latency percentiles, of the sessions started in [start, end)."""
    hourly = start is not None and end is not None and end - start <= HOURLY_UP_TO
    found = store.overview(project.id, start, end, hourly)
    t = found.totals
    failed = sum(m.failed_calls for m in found.models)
    totals = {
        "sessions": t.sessions,
        "success": t.success,
        "fail": t.fail,
        "indeterminate": t.indeterminate,
        "fail_rate": (t.fail / t.sessions) if t.sessions else None,
        "sessions_with_errors": sum(p.with_errors for p in found.points),
        "events": t.events,
        "llms": t.llms,
        "tools": t.tools,
        "actions": t.actions,
        "errors": t.errors,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "cost": queries.format_usd(t.cost_nanos),
        "cost_nanos": t.cost_nanos,
        "unknown_cost_events": t.unknown_cost_events,
        "failed_llm_calls": failed,
        "unpriced_llm_calls": sum(m.unpriced_calls for m in found.models),
        "llm_latency": _latency_json(found.llm),
    }
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    points = [
        {
            "start": iso(p.start),
            "end": iso(_after(p.start, step)),
            "sessions": p.sessions,
            "success": p.success,
            "fail": p.fail,
            "indeterminate": p.indeterminate,
            "with_errors": p.with_errors,
            "error_rate": (p.with_errors / p.sessions) if p.sessions else None,
            "cost": queries.format_usd(p.cost_nanos),
            "cost_nanos": p.cost_nanos,
            "prompt_tokens": p.prompt_tokens,
            "completion_tokens": p.completion_tokens,
            "llm_latency": _latency_json(p.llm),
        }
        for p in _filled(found.points, start, end, step)
    ]
    models = [
        {
            "model": m.model,
            "calls": m.calls,
            "failed_calls": m.failed_calls,
            "unpriced_calls": m.unpriced_calls,
            "prompt_tokens": m.prompt_tokens,
            "completion_tokens": m.completion_tokens,
            "cost": queries.format_usd(m.cost_nanos),
            "cost_nanos": m.cost_nanos,
            "unknown_cost_calls": m.unknown_cost_calls,
            "llm_latency": _latency_json(m.llm),
        }
        for m in found.models
    ]
    return {
        "data": {
            "project": project_json(project),
            "range": {"start": iso(start), "end": iso(end)},
            "bucket": found.bucket,
            "totals": totals,
            "points": points,
            "models": models,
        }
    }


def _latency_json(llm: Latency) -> dict[str, Any]:
    return {"calls": llm.calls, "p50_ms": llm.p50_ms, "p95_ms": llm.p95_ms}


def _filled(
    found: list[BucketPoint], start: datetime | None, end: datetime | None, step: timedelta
) -> list[BucketPoint]:
    """Buckets without sessions appear as zeros, so charts keep a true time axis (up to 400
    buckets; longer ranges show the buckets with sessions only)."""
    if not found and (start is None or end is None):
        return []
    first = _floor(start, step) if start else found[0].start
    last = end - timedelta(microseconds=1) if end else found[-1].start
    if found:
        first, last = min(first, found[0].start), max(last, found[-1].start)
    if (last - first) / step > 400:
        return list(found)
    by_start = {p.start: p for p in found}
    out = []
    at = first
    while at <= last:
        out.append(by_start.get(at) or BucketPoint(at, 0, 0, 0, 0, 0, 0, 0, 0))
        try:
            at += step
        except OverflowError:  # the calendar's last bucket
            break
    return out


def _after(start: datetime, step: timedelta) -> datetime:
    """The end of the bucket that begins at `start`; the calendar's last moment for the last
    bucket of year 9999 (a session may start then: timestamps are taken as clients send them)."""
    try:
        return start + step
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _floor(when: datetime, step: timedelta) -> datetime:
    if step == timedelta(hours=1):
        return when.replace(minute=0, second=0, microsecond=0)
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


# --- sessions ----------------------------------------------------------------------------------
def session_row(session: Session) -> dict[str, Any]:
    """A session as the dashboard lists it: its fields, duration and stats."""
    return {
        **queries.session_json(session, host_env=False),
        "duration_seconds": queries.duration_seconds(session),
        "running": session.end_timestamp is None,
        "stats": queries.stats_json(session),
    }


def list_sessions(
    store: Store,
    project_id: str,
    filters: SessionFilter,
    sort: SessionSort,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """{"data", "next_cursor", "partial"}: `partial` means a search stopped at its reading
    budget before filling the page; the next cursor continues it (storage/session_sort.py)."""
    page = store.list_sessions_sorted(project_id, filters, sort, cursor, limit)
    extras = store.session_extras([s.id for s in page.sessions])
    rows = []
    for s in page.sessions:
        more = extras.get(s.id)
        rows.append(
            {
                **session_row(s),
                "agents": more.agents if more else [],
                "models": more.models if more else [],
                "preview": more.preview if more else None,
            }
        )
    return {
        "data": rows,
        "next_cursor": page.next_cursor,
        "partial": page.next_cursor is not None and len(page.sessions) < limit,
    }


def timeline_bounds(session: Session) -> tuple[int, int]:
    """The span the waterfall shows, in epoch ms: session start to its last known moment."""
    start = session.init_timestamp
    if session.stats.first_event_at is not None:
        start = min(start, session.stats.first_event_at)
    ends = [session.init_timestamp, session.end_timestamp, session.stats.last_event_at]
    end = max(e for e in ends if e is not None)
    start_ms, end_ms = _ms(start), _ms(end) + 1
    return start_ms, max(end_ms, start_ms + 1)


def session_detail(store: Store, project_id: str, session_id: str) -> dict[str, Any]:
    """Summary, agents, uploaded logs and the first page of the event tree's top level: never
    all events (a session may hold millions); the waterfall loads the rest level by level."""
    session = store.get_session(project_id, session_id)
    start_ms, end_ms = timeline_bounds(session)
    top = store.list_tree_level(session_id, None, None, TREE_PAGE)
    logs = store.list_session_logs(session_id)
    return {
        "data": {
            "session": {
                **queries.session_json(session),
                "duration_seconds": queries.duration_seconds(session),
                "running": session.end_timestamp is None,
            },
            "stats": queries.stats_json(session),
            "agents": [{"id": a.id, "name": a.name} for a in store.list_agents(session_id)],
            "timeline": {"start_ms": start_ms, "end_ms": end_ms},
            "tree": _level_json(top, None),
            "logs": [{"received_at": iso(log.received_at), "body": log.body} for log in logs],
        }
    }


# --- events ------------------------------------------------------------------------------------
def event_density(
    store: Store, session_id: str, start_ms: int, end_ms: int, buckets: int
) -> dict[str, Any]:
    found = store.event_density(session_id, _dt(start_ms), _dt(end_ms), buckets)
    return {
        "data": {
            "start_ms": found.start_ms,
            "end_ms": found.end_ms,
            "bucket_ms": found.bucket_ms,
            "total": found.total,
            "buckets": [
                {"index": b.index, "event_type": b.event_type, "count": b.count}
                for b in found.buckets
            ],
        }
    }


def event_window(
    store: Store,
    session_id: str,
    start_ms: int,
    end_ms: int,
    cursor: str | None,
    limit: int,
    running: bool = False,
    match: EventMatch | None = None,
) -> dict[str, Any]:
    """Events starting in the window that `match` selects; with `running` (and no match),
    the first page also starts with the events already running when the window opens."""
    found = store.list_event_window(session_id, _dt(start_ms), _dt(end_ms), cursor, limit, match)
    window = _window_json(found)
    if running and cursor is None and match is None:
        earlier = store.list_running_events(session_id, _dt(start_ms))
        window["events"] = [_brief_json(e) for e in earlier] + window["events"]
    return {"data": window}


def event_detail(store: Store, session_id: str, event_id: str) -> dict[str, Any]:
    """One event in the export's shape, plus what the inspector shows beside it."""
    event = store.get_event(session_id, event_id)
    end = event.end_timestamp
    return {
        "data": {
            **queries.event_json(event),
            "event_type": event.event_type,
            "name": event.name,
            "model": event.model,
            "provider": event.provider,
            "duration_ms": None
            if end is None
            else (end - event.init_timestamp) / timedelta(milliseconds=1),
            "prompt_tokens": event.prompt_tokens,
            "completion_tokens": event.completion_tokens,
            "cost": queries.format_usd(event.cost_nanos),
            "cost_nanos": event.cost_nanos,
            "cost_source": event.cost_source,
        }
    }


def tree_level(
    store: Store,
    session_id: str,
    parent_id: str | None,
    cursor: str | None,
    limit: int,
    since_ms: int | None = None,
) -> dict[str, Any]:
    """{"data": nodes, "next_cursor", "running"}: a page of one level of the event tree (the
    children of `parent_id`, or the top level), each node with `parent_id`, `child_count`
    (counted up to 1,000: `child_count_exact`) and `orphan` (at the top level, a parent id
    that names no stored event)."""
    since = None if since_ms is None else _dt(since_ms)
    found = store.list_tree_level(session_id, parent_id, cursor, limit, since)
    return _level_json(found, parent_id)


def _brief_json(event: EventBrief) -> dict[str, Any]:
    return {
        "id": event.id,
        "parent_id": event.parent_id,
        "event_type": event.event_type,
        "start_ms": _ms(event.init_timestamp),
        "end_ms": None if event.end_timestamp is None else _ms(event.end_timestamp),
        "name": event.name,
        "model": event.model,
        "agent_id": event.agent_id,
        "prompt_tokens": event.prompt_tokens,
        "completion_tokens": event.completion_tokens,
        "cost_nanos": event.cost_nanos,
        "cost_source": event.cost_source,
    }


def _level_json(level: TreeLevel, parent_id: str | None) -> dict[str, Any]:
    nodes = [
        {
            **_brief_json(node.event),
            "child_count": node.child_count,
            "child_count_exact": node.child_count_exact,
            "orphan": parent_id is None and node.event.parent_id is not None,
        }
        for node in level.nodes
    ]
    return {"data": nodes, "next_cursor": level.next_cursor, "running": level.running}


def _window_json(window: EventWindow) -> dict[str, Any]:
    return {"events": [_brief_json(e) for e in window.events], "next_cursor": window.next_cursor}


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
