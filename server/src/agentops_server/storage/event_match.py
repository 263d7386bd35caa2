"""The condition of an EventMatch (the session page's event filters) on the events table."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, true

from agentops_server.storage.dashboard_records import EventMatch
from agentops_server.storage.schema import events


def matches(match: EventMatch | None) -> ColumnElement[bool]:
    """True for the events `match` selects; added to a session's time-ordered walk, so it
    filters rows of one session's index range rather than choosing an index of its own."""
    if match is None or match.is_empty():
        return true()
    found: list[ColumnElement[bool]] = []
    if match.event_type:
        found.append(events.c.event_type == match.event_type)
    if match.name:
        found.append(events.c.name.ilike(_contains(match.name), escape="\\"))
    if match.model:
        found.append(events.c.model.ilike(_contains(match.model), escape="\\"))
    if match.agent_id:
        found.append(events.c.agent_id == match.agent_id)
    return and_(*found)


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
