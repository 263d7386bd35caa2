"""What the sessions list shows beside each row: the session's agents, models and the start of
its first prompt. A few index look-ups per page, never a scan of the events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from agentops_server.storage.dashboard_records import SessionExtras
from agentops_server.storage.schema import agents, events, session_models, sessions

PREVIEW_CHARS = 160


def read_extras(conn: Connection, session_ids: list[str]) -> dict[str, SessionExtras]:
    found = {sid: SessionExtras() for sid in session_ids}
    if not session_ids:
        return found
    named = select(agents.c.session_id, agents.c.name).where(
        agents.c.session_id.in_(session_ids), agents.c.name.is_not(None)
    )
    for sid, name in conn.execute(named.order_by(agents.c.session_id, agents.c.name)):
        if name not in found[sid].agents:
            found[sid].agents.append(name)
    used = select(session_models.c.session_id, session_models.c.model).where(
        session_models.c.session_id.in_(session_ids)
    )
    for sid, model in conn.execute(
        used.order_by(session_models.c.session_id, session_models.c.model)
    ):
        found[sid].models.append(model)
    first = (  # one statement; an index look-up per session: (session, type, time)
        select(events.c.payload)
        .where(events.c.session_id == sessions.c.id, events.c.event_type == "llms")
        .order_by(events.c.init_timestamp, events.c.seq)
        .limit(1)
        .scalar_subquery()
    )
    prompts = select(sessions.c.id, first).where(sessions.c.id.in_(session_ids))
    for sid, payload in conn.execute(prompts):
        if payload is not None:
            found[sid].preview = _preview(payload)
    return found


def _preview(payload: Any) -> str | None:
    """The last user message of the prompt (or the prompt itself), on one line."""
    prompt = payload.get("prompt") if isinstance(payload, dict) else None
    text: Any = prompt
    if isinstance(prompt, list):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        chosen = users[-1] if users else (prompt[-1] if prompt else None)
        text = chosen.get("content") if isinstance(chosen, dict) else chosen
    elif isinstance(prompt, dict):
        text = prompt.get("content")
    if isinstance(text, list):  # content parts
        text = " ".join(str(p.get("text", "")) for p in text if isinstance(p, dict))
    if not isinstance(text, str) or not text.strip():
        return None
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"
