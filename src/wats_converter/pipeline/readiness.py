"""Whether a queued file may be converted now: it has settled (nobody wrote it for
`settle_s`), and the disk that takes pending reports has room.

The worker pool asks; these only answer (and remember what they need to answer the next time).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path

from wats_converter.clock import Clock
from wats_converter.stats import ServiceStats
from wats_converter.storage.identity import FileIdentity

log = logging.getLogger(__name__)
FREE_SPACE_CHECK_S = 1.0


class Settling:
    """When each file was first seen unchanged, for files whose mtime cannot be trusted."""

    def __init__(self, clock: Clock, settle_s: float) -> None:
        self.clock = clock
        self.settle_s = settle_s
        self._unchanged_since: dict[Path, tuple[FileIdentity, float]] = {}

    def wait_s(self, path: Path, key: FileIdentity) -> float:
        """0 if the file has not been written for `settle_s`: by its mtime, or, when the
        mtime cannot be trusted (in the future: a share's or a station's skewed clock), by
        having seen it unchanged for that long; otherwise how long to wait before asking again."""
        settle, now = self.settle_s, self.clock.now()
        seen = self._unchanged_since.get(path)
        if seen is None or seen[0] != key:
            seen = (key, now)
            self._unchanged_since[path] = seen
        age = time.time() - key.mtime_ns / 1e9
        steady = now - seen[1]
        if age >= settle or steady >= settle:
            self._unchanged_since.pop(path, None)
            return 0.0
        wait = settle - max(age, steady) if age >= 0 else settle - steady
        return max(0.01, wait)

    def forget(self, path: Path) -> None:
        """`path` is gone: nothing to remember about it."""
        self._unchanged_since.pop(path, None)


class DiskSpace:
    """Whether the pending folder's disk takes reports: `min_free_bytes` free (looked at once
    a second), and writes not failing (`blocked`, told by whoever saw one fail)."""

    def __init__(
        self, clock: Clock, folder: Path, min_free_bytes: int, stats: ServiceStats
    ) -> None:
        self.clock = clock
        self.folder = folder
        self.min_free_bytes = min_free_bytes
        self.stats = stats
        self._checked = 0.0
        self._ok = True

    def blocked(self, why: str) -> None:
        """Writing to the pending folder failed (or would): say so once, show it in status."""
        if not self.stats.storage_blocked:
            log.error(
                "cannot write to %s (%s): new files wait in their folders until it is fixed",
                self.folder,
                why,
            )
        self.stats.storage_blocked = why

    def enough(self) -> bool:
        now = self.clock.now()
        if now - self._checked >= FREE_SPACE_CHECK_S:
            self._checked = now
            with contextlib.suppress(OSError):
                free = shutil.disk_usage(self.folder).free
                was_ok, self._ok = self._ok, free >= self.min_free_bytes
                if was_ok and not self._ok:
                    self.blocked(f"only {free // 1024 // 1024} MiB free")
                elif self._ok and not was_ok:
                    log.info("disk space is back; converting again")
                    self.stats.storage_blocked = ""
        return self._ok
