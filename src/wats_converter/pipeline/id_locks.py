"""IdLocks: one report id is handled by one task at a time (spooled, sent, filed or removed),
so a newer body of a report is never overtaken by an older one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class IdLocks:
    """One asyncio lock per report id, created on demand and dropped when nobody holds it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, ids: list[str]) -> AsyncIterator[None]:
        ordered = sorted(set(ids))  # a fixed order: two holders never wait on each other
        for report_id in ordered:
            lock, users = self._locks.get(report_id, (asyncio.Lock(), 0))
            self._locks[report_id] = (lock, users + 1)
        acquired: list[asyncio.Lock] = []
        try:
            for report_id in ordered:
                lock = self._locks[report_id][0]
                await lock.acquire()
                acquired.append(lock)
            yield
        finally:
            for lock in acquired:
                lock.release()
            for report_id in ordered:
                lock, users = self._locks[report_id]
                if users == 1:
                    del self._locks[report_id]
                else:
                    self._locks[report_id] = (lock, users - 1)
