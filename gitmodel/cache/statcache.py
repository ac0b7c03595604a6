"""The stat cache: (path, inode, mtime_ns, size) -> oid, so unchanged files are never rehashed."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    oid TEXT NOT NULL
)
"""

StatKey = tuple[int, int, int]  # inode, mtime_ns, size


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class StatCache:
    """A SQLite table keyed by absolute path; safe for concurrent processes (WAL, busy wait)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    def lookup(self, path: Path, st: os.stat_result) -> str | None:
        row = (
            self._db()
            .execute("SELECT inode, mtime_ns, size, oid FROM entries WHERE path = ?", (str(path),))
            .fetchone()
        )
        if row is not None and tuple(row[:3]) == stat_key(st):
            return str(row[3])
        return None

    def entries_under(self, folder: Path) -> dict[str, tuple[StatKey, str]]:
        """Every entry below `folder` in one query: path -> (stat key, oid)."""
        prefix = str(folder).rstrip("/") + "/"
        rows = self._db().execute(
            "SELECT path, inode, mtime_ns, size, oid FROM entries WHERE path >= ? AND path < ?",
            (prefix, prefix[:-1] + "0"),
        )
        return {r[0]: ((r[1], r[2], r[3]), r[4]) for r in rows}

    def record(self, path: Path, st: os.stat_result, oid: str) -> None:
        self.record_many([(path, st, oid)])

    def record_many(self, items: Iterable[tuple[Path, os.stat_result, str]]) -> None:
        rows = [(str(p), *stat_key(st), oid) for p, st, oid in items]
        if not rows:
            return
        db = self._db()
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
