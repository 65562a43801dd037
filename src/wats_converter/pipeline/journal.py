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
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS kept (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    outcome TEXT NOT NULL, converter TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (path TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""
FileKey = tuple[int, int]  # (size, mtime_ns): a file "as seen"


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
        self._kept: dict[str, FileKey] = {
            p: (s, m) for p, s, m in self._db.execute("SELECT path, size, mtime_ns FROM kept")
        }
        self._attempts: dict[str, int] = {}
        for p, n in self._db.execute("SELECT path, count FROM attempts").fetchall():
            if Path(p).exists():
                self._attempts[p] = n
            else:
                self._db.execute("DELETE FROM attempts WHERE path = ?", (p,))
        self._cleared: list[tuple[str]] = []

    def is_kept(self, path: Path, key: FileKey) -> bool:
        """Whether this exact file (same size and mtime) was already handled and kept."""
        return self._kept.get(str(path)) == key

    def keep(self, path: Path, key: FileKey, outcome: str, converter: str) -> None:
        """Record a handled file that stays in place; its conversion attempts end with it (in the
        same transaction: a kept file must never look like an unfinished conversion)."""
        self._attempts.pop(str(path), None)
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO kept VALUES (?,?,?,?,?,?)",
                (str(path), key[0], key[1], outcome, converter, time.time()),
            )
            self._db.execute("DELETE FROM attempts WHERE path = ?", (str(path),))
            self._db.execute("COMMIT")
            self._kept[str(path)] = key

    def start_attempt(self, path: Path) -> int:
        """Count one more conversion attempt of `path`, durably before converting; return it.

        Attempts cleared since the last call are written in the same transaction: one commit
        per file. A clear lost in a crash leaves a row for a file already gone (pruned at start).
        """
        count = self._attempts.get(str(path), 0) + 1
        with self._lock:
            self._attempts[str(path)] = count
            cleared, self._cleared = self._cleared, []
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM attempts WHERE path = ?", cleared)
            self._db.execute("INSERT OR REPLACE INTO attempts VALUES (?, ?)", (str(path), count))
            self._db.execute("COMMIT")
        return count

    def attempts(self, path: Path) -> int:
        return self._attempts.get(str(path), 0)

    def clear_attempts(self, path: Path) -> None:
        if self._attempts.pop(str(path), None) is not None:
            self._cleared.append((str(path),))

    def flush(self) -> None:
        """Write pending clears now (every second, on stop, after a suspect converted fine)."""
        if not self._cleared:
            return
        with self._lock:
            cleared, self._cleared = self._cleared, []
            self._db.executemany("DELETE FROM attempts WHERE path = ?", cleared)

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()
