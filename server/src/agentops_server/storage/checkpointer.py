"""Background WAL checkpoints for SQLite, off the write path.

SQLite's automatic checkpoint runs inside whichever COMMIT crosses the threshold (1000 pages by
default), adding the cost of copying and fsyncing thousands of pages to one unlucky request.
This thread copies WAL pages into the database twice a second in PASSIVE mode, which never
blocks readers or the writer. The writer keeps a high automatic threshold as a safety net, so
the WAL stays bounded even if this thread cannot keep up (a WAL is only reset when fully
copied, which a busy writer may only allow while it holds the write lock).
"""

from __future__ import annotations

import logging
import sqlite3
import threading

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5
WRITER_AUTOCHECKPOINT_PAGES = 16_384  # 64 MiB of 4 KiB pages
JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


class Checkpointer:
    def __init__(self, database_path: str, busy_timeout_ms: int) -> None:
        self._path = database_path
        self._busy_timeout_ms = busy_timeout_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="agentops-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:  # e.g. another process is checkpointing: next time
            logger.debug("WAL checkpoint skipped", exc_info=True)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:  # pragma: no cover - the store itself will report this
            logger.warning("cannot open %s for checkpoints", self._path, exc_info=True)
            return
        try:
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            while not self._stop.wait(INTERVAL_SECONDS):
                self._checkpoint(conn)
            self._checkpoint(conn)
        finally:
            conn.close()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
