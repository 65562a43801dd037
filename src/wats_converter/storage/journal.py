"""The local journal (SQLite): files that stay in their folder, and conversion attempts.

Its calls are made on the event loop thread: a WAL commit without fsync takes microseconds,
less than handing the call to a worker thread.

- `kept`: files handled with KEEP (or skipped by their converter), by path, size and mtime, so a
  restart or rescan never submits them again.
- `attempts`: files whose conversion was started, counted before the converter runs, so a file
  that crashes or hangs the converter again and again is quarantined instead of looping forever.

WAL with synchronous=NORMAL: every commit survives a crash of this process (kill -9); a power
loss may forget the last few, which at worst re-submits a report under its same id (an overwrite,
not a duplicate).

Paths are stored as the bytes the OS gave (a BLOB): a name that is not valid UTF-8 (a cp1252
name from an SMB, USB or FAT mount) is recorded losslessly instead of failing the write. Every
transaction is rolled back on any error, so a failed write never leaves the connection inside
an open transaction.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS kept (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    outcome TEXT NOT NULL, converter TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (path TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""
FileKey = tuple[int, int]  # (size, mtime_ns): a file "as seen"


def _blob(path: Path | str) -> bytes:
    """A path as stored: the OS's bytes (surrogate-escaped names round-trip)."""
    return os.fsencode(path)


def _name(stored: bytes | str) -> str:
    return os.fsdecode(stored) if isinstance(stored, bytes) else stored


class Journal:
    """Thread-safe; the kept set is mirrored in memory so scans check it without queries."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        with self._transaction():  # journals written before paths were stored as bytes
            for table in ("kept", "attempts"):
                self._db.execute(
                    f"UPDATE {table} SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text'"
                )
        self._kept: dict[str, FileKey] = {
            _name(p): (s, m)
            for p, s, m in self._db.execute("SELECT path, size, mtime_ns FROM kept")
        }
        self._attempts: dict[str, int] = {}
        for p, n in self._db.execute("SELECT path, count FROM attempts").fetchall():
            if Path(_name(p)).exists():
                self._attempts[_name(p)] = n
            else:
                self._db.execute("DELETE FROM attempts WHERE path = ?", (p,))
        self._cleared: list[tuple[bytes]] = []

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, rolled back on any error (the caller holds the lock)."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def is_kept(self, path: Path, key: FileKey) -> bool:
        """Whether this exact file (same size and mtime) was already handled and kept."""
        return self._kept.get(str(path)) == key

    def keep(self, path: Path, key: FileKey, outcome: str, converter: str) -> None:
        """Record a handled file that stays in place; its conversion attempts end with it (in the
        same transaction: a kept file must never look like an unfinished conversion)."""
        self._attempts.pop(str(path), None)
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO kept VALUES (?,?,?,?,?,?)",
                (_blob(path), key[0], key[1], outcome, converter, time.time()),
            )
            self._db.execute("DELETE FROM attempts WHERE path = ?", (_blob(path),))
        self._kept[str(path)] = key

    def start_attempts(self, paths: Sequence[Path]) -> list[int]:
        """Count one more conversion attempt of each of `paths`, durably (one transaction)
        before converting them; return their counts.

        Attempts cleared since the last call are written in the same transaction: one commit
        per group of files. A clear lost in a crash leaves a row for a file already gone
        (pruned at start).
        """
        counts = [self._attempts.get(str(path), 0) + 1 for path in paths]
        rows = [(_blob(path), count) for path, count in zip(paths, counts, strict=True)]
        with self._lock:
            cleared = self._cleared
            with self._transaction():
                if cleared:
                    self._db.executemany("DELETE FROM attempts WHERE path = ?", cleared)
                self._db.executemany("INSERT OR REPLACE INTO attempts VALUES (?, ?)", rows)
            self._cleared = []
            for path, count in zip(paths, counts, strict=True):
                self._attempts[str(path)] = count
        return counts

    def attempts(self, path: Path) -> int:
        return self._attempts.get(str(path), 0)

    def clear_attempts(self, path: Path) -> None:
        if self._attempts.pop(str(path), None) is not None:
            self._cleared.append((_blob(path),))

    def flush(self) -> None:
        """Write pending clears now (every second, on stop, after a suspect converted fine)."""
        if not self._cleared:
            return
        with self._lock:
            with self._transaction():
                self._db.executemany("DELETE FROM attempts WHERE path = ?", self._cleared)
            self._cleared = []

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()
