"""The stat cache: (path, inode, mtime_ns, size) -> oid, so unchanged files are never rehashed.

A second table remembers, per folder artifact, the fingerprint of its files' stat results when
it was last found up to date, so an unchanged folder is not compared file by file again.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple, TypeVar

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS entries (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    oid TEXT NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS folders (
    path TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    oid TEXT NOT NULL,
    cache TEXT NOT NULL,
    generation TEXT NOT NULL
)
""",
)

StatKey = tuple[int, int, int]  # inode, mtime_ns, size
_T = TypeVar("_T")

# SQLite's busy timeout does not cover every contended case (switching a new database to WAL,
# upgrading a read lock while another process writes): those fail at once with "locked", so
# every operation is retried as a whole until this deadline.
_RETRY_SECONDS = 60.0


class FolderState(NamedTuple):
    """A folder artifact found up to date: its files' stat fingerprint, the manifest oid it
    matched, and the cache (root and generation) that then held every object it names."""

    fingerprint: str
    oid: str
    cache: str
    generation: str


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _is_contention(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class StatCache:
    """A SQLite table keyed by absolute path; safe for concurrent processes (WAL, busy wait)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        deadline = time.monotonic() + _RETRY_SECONDS
        pause = 0.005
        while True:
            try:
                if self._conn is None:
                    self._conn = self._open()
                return operation(self._conn)
            except sqlite3.OperationalError as exc:
                if not _is_contention(exc) or time.monotonic() > deadline:
                    raise
                if self._conn is not None and self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def lookup(self, path: Path | str, st: os.stat_result) -> str | None:
        row = self._run(
            lambda db: db.execute(
                "SELECT inode, mtime_ns, size, oid FROM entries WHERE path = ?", (str(path),)
            ).fetchone()
        )
        if row is not None and tuple(row[:3]) == stat_key(st):
            return str(row[3])
        return None

    def entries_under(self, folder: Path) -> dict[str, tuple[StatKey, str]]:
        """Every entry below `folder` in one query: path -> (stat key, oid)."""
        prefix = str(folder).rstrip("/") + "/"
        rows = self._run(
            lambda db: db.execute(
                "SELECT path, inode, mtime_ns, size, oid FROM entries WHERE path >= ? AND path < ?",
                (prefix, prefix[:-1] + "0"),
            ).fetchall()
        )
        return {r[0]: ((r[1], r[2], r[3]), r[4]) for r in rows}

    def record(self, path: Path | str, st: os.stat_result, oid: str) -> None:
        self.record_many([(path, st, oid)])

    def record_many(self, items: Iterable[tuple[Path | str, os.stat_result, str]]) -> None:
        # stat_key inlined: this runs once per file of a folder
        rows = [(str(p), st.st_ino, st.st_mtime_ns, st.st_size, oid) for p, st, oid in items]
        if not rows:
            return

        def write(db: sqlite3.Connection) -> None:
            # IMMEDIATE takes the write lock up front, so the busy timeout applies to it.
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")

        self._run(write)

    def upsert_rows(self, rows: list[tuple[str, int, int, int, str]]) -> None:
        """Record (path, inode, mtime_ns, size, oid) rows, writing only those that differ from
        what is stored: a checkout of files whose rows `add` already wrote changes no page."""
        if not rows:
            return
        upsert = (
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET "
            "inode = excluded.inode, mtime_ns = excluded.mtime_ns, size = excluded.size, "
            "oid = excluded.oid WHERE (inode, mtime_ns, size, oid) IS NOT "
            "(excluded.inode, excluded.mtime_ns, excluded.size, excluded.oid)"
        )

        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(upsert, rows)
            db.execute("COMMIT")

        self._run(write)

    def folder_state(self, folder: Path) -> FolderState | None:
        row = self._run(
            lambda db: db.execute(
                "SELECT fingerprint, oid, cache, generation FROM folders WHERE path = ?",
                (str(folder),),
            ).fetchone()
        )
        return None if row is None else FolderState(*map(str, row))

    def record_folder(self, folder: Path, state: FolderState) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?, ?)", (str(folder), *state)
            )
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
