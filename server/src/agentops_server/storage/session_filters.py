"""The WHERE clauses of a SessionFilter, shared by every session listing.

Two kinds. *Candidate* filters (text, model, agent) name their sessions through an index
(search_docs, session_models, agents, session_tags), so a listing reads only the sessions they
name, in any order, exactly. *Row* filters (cost and duration ranges, metadata, tags beyond the
first) are tested on each session a listing walks; without a candidate filter beside them, a
listing reads a bounded number of sessions per page (storage/session_sort.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, Text, and_, cast, func, literal, select, union

from agentops_server.storage import model_calls, search_index
from agentops_server.storage.records import SessionFilter
from agentops_server.storage.schema import agents, session_stats, session_tags, sessions

LAST_CHAR = "\U0010ffff"


def has_candidates(filters: SessionFilter) -> bool:
    return bool(filters.text or filters.model or filters.agent)


def has_row_filters(filters: SessionFilter) -> bool:
    ranges = (
        filters.min_cost_nanos,
        filters.max_cost_nanos,
        filters.min_duration_ms,
        filters.max_duration_ms,
    )
    return any(v is not None for v in ranges) or bool(filters.metadata) or len(filters.tags) > 1


def candidate_clauses(
    filters: SessionFilter, project_id: str, dialect: str
) -> list[ColumnElement[bool]]:
    """`sessions.id IN (...)` for each candidate filter."""
    clauses: list[ColumnElement[bool]] = []
    if filters.text:
        clauses.append(sessions.c.id.in_(_text_sessions(filters.text, project_id, dialect)))
    if filters.model:
        clauses.append(sessions.c.id.in_(model_calls.sessions_with_model(filters.model)))
    if filters.agent:
        named = select(agents.c.session_id).where(agents.c.name == filters.agent)
        clauses.append(sessions.c.id.in_(named))
    return clauses


def row_clauses(filters: SessionFilter, dialect: str, tags_from: int = 1) -> list[Any]:
    """Conditions on the session and stats row; tags from `tags_from` on (the first one is
    usually the index a listing walks)."""
    clauses: list[Any] = []
    cost = session_stats.c.cost_nanos
    if filters.min_cost_nanos is not None:
        clauses.append(cost >= filters.min_cost_nanos)
    if filters.max_cost_nanos is not None:
        clauses.append(cost <= filters.max_cost_nanos)
    duration = sessions.c.duration_ms
    if filters.min_duration_ms is not None:
        clauses.append(duration >= filters.min_duration_ms)
    if filters.max_duration_ms is not None:
        clauses.append(duration <= filters.max_duration_ms)
    for key, value in filters.metadata:
        clauses.append(_metadata_value(dialect, key) == value)
    for tag in filters.tags[tags_from:]:
        other = session_tags.alias()  # the listing may walk session_tags itself
        tagged = select(other.c.session_id).where(
            other.c.session_id == sessions.c.id, other.c.tag == tag
        )
        clauses.append(tagged.exists())
    return clauses


def _metadata_value(dialect: str, key: str) -> Any:
    """metadata[key] as text (numbers and booleans as JSON writes them)."""
    if dialect == "postgresql":
        return sessions.c.metadata.op("->>", return_type=Text())(literal(key, Text()))
    path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    value = func.json_extract(sessions.c.metadata, path)
    kind = func.json_type(sessions.c.metadata, path)
    return func.iif(
        kind.in_(["true", "false"]), kind, cast(value, String)
    )  # SQLite's json_extract answers 1/0 for booleans


def _text_sessions(text: str, project_id: str, dialect: str) -> Any:
    """Sessions whose words match `text` (storage/search_index.py), that carry it as a tag, or
    whose id starts with it (as typed or lower-cased)."""
    tagged = session_tags.alias()
    branches: list[Any] = [
        select(tagged.c.session_id).where(tagged.c.project_id == project_id, tagged.c.tag == text)
    ]
    named = sessions.alias("named")  # not the listing's own sessions: no correlation
    for prefix in dict.fromkeys([text, text.lower()]):
        starts: ColumnElement[bool]
        if dialect == "postgresql":  # walks ix_sessions_id_pattern (text_pattern_ops)
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            starts = named.c.id.like(f"{escaped}%", escape="\\")
        else:
            starts = and_(named.c.id >= prefix, named.c.id < prefix + LAST_CHAR)
        branches.append(select(named.c.id).where(named.c.project_id == project_id, starts))
    words = search_index.matching_sessions(dialect, text)
    if words is not None:
        branches.append(words)
    return union(*branches)
