"""IdLocks: one report id is handled by one task at a time (spooled, sent, filed or removed),
so a newer body of a report is never overtaken by an older one."""

from __future__ import annotations

import asyncio
from types import TracebackType


class IdLocks:
    """One asyncio lock per report id, created on demand and dropped when nobody holds it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def hold(self, ids: list[str]) -> _Hold:
        """`async with locks.hold(ids):` the ids are this task's until the block ends."""
        return _Hold(self, sorted(set(ids)))  # a fixed order: two holders never wait on each other

    def _join(self, ordered: list[str]) -> None:
        for report_id in ordered:
            lock, users = self._locks.get(report_id, (asyncio.Lock(), 0))
            self._locks[report_id] = (lock, users + 1)

    def _lock(self, report_id: str) -> asyncio.Lock:
        return self._locks[report_id][0]

    def _leave(self, ordered: list[str]) -> None:
        for report_id in ordered:
            lock, users = self._locks[report_id]
            if users == 1:
                del self._locks[report_id]
            else:
                self._locks[report_id] = (lock, users - 1)


class _Hold:
    """A plain class, not a decorated generator: one per delivered file, so it is kept cheap."""

    def __init__(self, locks: IdLocks, ordered: list[str]) -> None:
        self.locks = locks
        self.ordered = ordered
        self.acquired: list[asyncio.Lock] = []

    async def __aenter__(self) -> None:
        self.locks._join(self.ordered)
        try:
            for report_id in self.ordered:
                lock = self.locks._lock(report_id)
                await lock.acquire()
                self.acquired.append(lock)
        except BaseException:
            self._release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        for lock in self.acquired:
            lock.release()
        self.acquired = []
        self.locks._leave(self.ordered)
