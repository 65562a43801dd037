"""AttemptStarts: the conversion attempts of files whose workers start in the same turn of the
event loop are committed together, in one journal transaction (a group commit).

An attempt is the crash-loop counter: it is durable before its converter runs, so a file that
crashes or hangs the converter again and again is quarantined instead of looping for ever. A
worker therefore waits for the commit, which runs once the loop has run every worker that was
ready in the same turn: those join the group. Workers tend to start together (the results of
conversions that finish meanwhile are handed back in one batch, `runners.ThreadRunner`):
measured in a 1 KB burst with 4 workers, 2,000 starts took 615 commits instead of 2,000.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from wats_converter.storage.journal import Journal


class AttemptStarts:
    """`start` counts one more attempt of a file, durably, with the others starting now."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._group: list[tuple[Path, asyncio.Future[int]]] = []

    async def start(self, path: Path) -> int:
        """Count one more attempt of `path`; return the count once it is committed (or raise
        what the commit raised)."""
        loop = asyncio.get_running_loop()
        if not self._group:
            loop.call_soon(self._commit)  # after the workers already ready in this turn
        started: asyncio.Future[int] = loop.create_future()
        self._group.append((path, started))
        return await started

    def _commit(self) -> None:
        # a worker cancelled while it waited (a stop) never converts: its attempt is not counted
        group = [(path, started) for path, started in self._group if not started.done()]
        self._group = []
        if not group:
            return
        try:
            counts = self.journal.start_attempts([path for path, _ in group])
        except Exception as exc:  # e.g. a full disk: each worker handles it as before
            for _, started in group:
                started.set_exception(exc)
            return
        for (_, started), count in zip(group, counts, strict=True):
            started.set_result(count)
