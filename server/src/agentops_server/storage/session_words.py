"""The words a session is found by from its own rows: its name, its end reason and its agents'
names, in documents of their own (search_docs.session_fields) that are replaced whenever one
of them changes, so that a search matches what the session shows now. Its events' words are
added as they arrive and never change (storage/search_index.py).

A writer that changes these columns calls `refresh` in its transaction while it holds the
sessions' row locks (it updated the rows, or took them with `lock`): on PostgreSQL two writers
of one session replace its document one after the other, the second from what the first
committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import BindParameter, Connection, bindparam, select

from agentops_server.storage import search_index, search_text
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.schema import agents, events, sessions

IDS_PER_SELECT = 500
EVENT_ROWS = 2000  # events read at a time when a stored session is indexed whole

# Built once and run with parameters (see storage/session_write.py).
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_LOCK = (
    select(sessions.c.id)
    .where(sessions.c.id.in_(_IDS))
    .order_by(sessions.c.id)
    .with_for_update(key_share=True)  # FOR NO KEY UPDATE, as an UPDATE of the row takes
)
_FIELDS = select(sessions.c.id, sessions.c.name, sessions.c.end_state_reason).where(
    sessions.c.id.in_(_IDS)
)
_AGENT_NAMES = (
    select(agents.c.session_id, agents.c.name)
    .where(agents.c.session_id.in_(_IDS), agents.c.name.is_not(None))
    .order_by(agents.c.session_id, agents.c.id)
)
_EVENT_TEXT = (
    select(events.c.session_id, events.c.name, events.c.model, events.c.payload)
    .where(events.c.session_id.in_(_IDS))
    .order_by(events.c.session_id, events.c.seq)
)


def text_of(fields: Iterable[str | None]) -> str:
    """A session's own words: its name, its end reason and its agents' names, as given."""
    return "\n".join(text for text in fields if text)


def add_new(conn: Connection, dialect: str, writes: Iterable[SessionWrite]) -> None:
    """Index the sessions these writes just inserted (they have no agents and no document)."""
    docs: dict[str, str] = {}
    for write in writes:
        text = text_of((write.name, write.end_state_reason))
        if text:
            docs[write.id] = text
    search_index.add_documents(conn, dialect, docs, session_fields=True)


def lock(conn: Connection, dialect: str, session_ids: Iterable[str]) -> None:
    """PostgreSQL: lock these sessions' rows, in id order as every writer does, before a write
    that changes what `refresh` reads without updating the rows (an agent's name)."""
    if dialect != "postgresql":
        return  # SQLite has one writer
    for ids in _chunks(session_ids):
        conn.execute(_LOCK, {"ids": ids}).all()


def refresh(conn: Connection, dialect: str, session_ids: Iterable[str]) -> None:
    """Replace these sessions' own documents with what their rows and agents hold now."""
    for ids in _chunks(session_ids):
        search_index.remove_session_fields(conn, dialect, ids)
        search_index.add_documents(conn, dialect, _texts(conn, ids), session_fields=True)


def index_stored(conn: Connection, dialect: str, session_ids: Sequence[str]) -> None:
    """Index stored sessions that have no document (imported, or a rebuilt index) as ingest
    would have: their own words, then their events' words."""
    for ids in _chunks(session_ids):
        search_index.add_documents(conn, dialect, _texts(conn, ids), session_fields=True)
        rows = conn.execute(_EVENT_TEXT, {"ids": ids})
        while batch := rows.fetchmany(EVENT_ROWS):
            search_index.add_documents(conn, dialect, search_text.documents(batch))


def _texts(conn: Connection, ids: list[str]) -> dict[str, str]:
    fields: dict[str, list[str | None]] = {
        sid: [name, reason] for sid, name, reason in conn.execute(_FIELDS, {"ids": ids})
    }
    for sid, name in conn.execute(_AGENT_NAMES, {"ids": ids}):
        fields[sid].append(name)
    texts = {sid: text_of(found) for sid, found in fields.items()}
    return {sid: text for sid, text in texts.items() if text}


def _chunks(session_ids: Iterable[str]) -> Iterable[list[str]]:
    wanted = sorted(set(session_ids))
    for start in range(0, len(wanted), IDS_PER_SELECT):
        yield wanted[start : start + IDS_PER_SELECT]
