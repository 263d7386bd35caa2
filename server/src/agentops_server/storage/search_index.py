"""The full-text index of sessions: writing documents at ingest, and the sessions a search
matches. SQLite: the contentless FTS5 table `search_text` whose rowid is search_docs.seq.
PostgreSQL: search_docs.terms, a tsvector of the 'simple' configuration under a GIN index.
Both receive the words of storage/search_text.py, so both engines find the same sessions.

Two kinds of document: its events' words, only ever added; and the session's own words
(search_docs.session_fields, storage/session_words.py), which are replaced when they change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import (
    Connection,
    Select,
    and_,
    column,
    delete,
    func,
    intersect,
    literal_column,
    select,
    table,
)

from agentops_server.storage import model_calls, search_text
from agentops_server.storage.driver import sqlite_cursor
from agentops_server.storage.records import EventWrite
from agentops_server.storage.schema import search_docs
from agentops_server.storage.types import dumps

FTS_TABLE = "search_text"
# SQLite: the FTS5 table (detail=none keeps the index small and the writes cheap; searches
# are words ANDed, which need no positions)
SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(body, content='', "
    "tokenize='unicode61 remove_diacritics 0', detail=none)"
)
POSTGRES_TERMS_INDEX = "CREATE INDEX ix_search_docs_terms ON search_docs USING gin (terms)"
POSTGRES_INDEXES = [
    POSTGRES_TERMS_INDEX,
    # session ids by prefix (LIKE 'abc%') under any collation
    "CREATE INDEX ix_sessions_id_pattern ON sessions (id text_pattern_ops)",
]

# A tsvector holds each distinct word (its UTF-8 bytes, a 4-byte entry, 2 bytes per position)
# and may not pass 1 MB: up to 100,000 characters of words (at most 4 bytes each, and 50,000
# words with their entries and positions) always fit; longer texts are cut into pieces.
POSTGRES_WHOLE_DOCUMENT_CHARS = 100_000
POSTGRES_DOCUMENT_BYTES = 700_000
POSTGRES_BYTES_PER_WORD = 8

_fts = table(FTS_TABLE, column("rowid"), column("body"))
SQLITE_DOC_INSERT = "INSERT INTO search_docs (session_id) VALUES (?)"  # its rowid is its seq
# a session's own words keep their text in `terms`: a contentless FTS5 row is deleted by
# giving its text again
SQLITE_FIELDS_INSERT = (
    "INSERT INTO search_docs (session_id, session_fields, terms) VALUES (?, 1, ?)"
)
SQLITE_TEXT_INSERT = f"INSERT INTO {FTS_TABLE} (rowid, body) VALUES (?, ?)"
SQLITE_TEXT_DELETE = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, body) VALUES ('delete', ?, ?)"
POSTGRES_INSERT = (
    "INSERT INTO search_docs (session_id, terms{}) SELECT r->>0, to_tsvector('simple', r->>1){} "
    "FROM json_array_elements(%s::json) AS r"
)
IDS_PER_STATEMENT = 500


def add_documents(
    conn: Connection, dialect: str, docs: dict[str, str], *, session_fields: bool = False
) -> None:
    """Index one document per session (session id -> text): words of its events, or with
    `session_fields` its own words (which remove_session_fields takes out again).

    Event documents are written without naming the session_fields column, as migration
    0005 writes them before 0010 adds it."""
    if not docs:
        return
    ordered = sorted(docs.items())
    if dialect == "sqlite":
        insert = SQLITE_FIELDS_INSERT if session_fields else SQLITE_DOC_INSERT
        with sqlite_cursor(conn, insert) as cursor:
            for session_id, body in ordered:
                cursor.execute(insert, (session_id, body) if session_fields else (session_id,))
                cursor.execute(SQLITE_TEXT_INSERT, (cursor.lastrowid, body))
        return
    rows = [
        [session_id, words]
        for session_id, body in ordered
        for words in _postgres_documents(search_text.words(body))
    ]
    flag = (", session_fields", ", true") if session_fields else ("", "")
    conn.exec_driver_sql(POSTGRES_INSERT.format(*flag), (dumps(rows),))


def remove_session_fields(conn: Connection, dialect: str, session_ids: Sequence[str]) -> None:
    """Take the documents of these sessions' own words out of the index (their events' stay)."""
    for start in range(0, len(session_ids), IDS_PER_STATEMENT):
        ids = list(session_ids[start : start + IDS_PER_STATEMENT])
        of_ids = and_(search_docs.c.session_id.in_(ids), search_docs.c.session_fields)
        if dialect == "sqlite":
            found = conn.execute(select(search_docs.c.seq, search_docs.c.terms).where(of_ids))
            stored = [(seq, body) for seq, body in found]
            if not stored:
                continue
            with sqlite_cursor(conn, SQLITE_TEXT_DELETE) as cursor:
                cursor.executemany(SQLITE_TEXT_DELETE, stored)
        conn.execute(delete(search_docs).where(of_ids))


def _postgres_documents(words: str) -> list[str]:
    """`words` as one document, or cut into several when its tsvector could pass PostgreSQL's
    limit of 1 MB (a batch of hundreds of long prompts): each distinct word once, in pieces of
    at most POSTGRES_DOCUMENT_BYTES. A search matches a session by any of its documents, so
    the pieces find what the whole would."""
    if len(words) <= POSTGRES_WHOLE_DOCUMENT_CHARS:
        return [words]
    pieces: list[str] = []
    piece: list[str] = []
    size = 0
    for word in dict.fromkeys(words.split(" ")):
        cost = len(word.encode()) + POSTGRES_BYTES_PER_WORD
        if piece and size + cost > POSTGRES_DOCUMENT_BYTES:
            pieces.append(" ".join(piece))
            piece, size = [], 0
        piece.append(word)
        size += cost
    if piece:
        pieces.append(" ".join(piece))
    return pieces


def add_events(conn: Connection, dialect: str, events: Iterable[EventWrite]) -> None:
    """What ingest adds for newly stored events: their words, and their sessions' models."""
    stored = list(events)
    add_documents(conn, dialect, search_text.documents(stored))
    model_calls.add_calls(conn, dialect, stored)


def matching_sessions(dialect: str, text: str) -> Select[tuple[str]] | None:
    """Ids of the sessions whose documents hold every word of `text` (a word of PREFIX_FROM
    letters or more also as the start of a longer one), in any of their documents: one set
    per word, intersected. None when `text` has no word."""
    words = search_text.query_words(text)
    if not words:
        return None
    per_word = [_sessions_with_word(dialect, w) for w in words]
    if len(per_word) == 1:
        return per_word[0]
    every = intersect(*per_word).subquery()  # a plain SELECT: SQLite nests no compound
    return select(every.c.session_id)


def _sessions_with_word(dialect: str, word: str) -> Select[tuple[str]]:
    prefix = len(word) >= search_text.PREFIX_FROM
    if dialect == "sqlite":
        query = f'"{word}"*' if prefix else f'"{word}"'
        hits = select(_fts.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(query))
        return select(search_docs.c.session_id).where(search_docs.c.seq.in_(hits))
    terms = f"{word}:*" if prefix else word
    match = search_docs.c.terms.op("@@")(func.to_tsquery("simple", terms))
    return select(search_docs.c.session_id).where(match)
