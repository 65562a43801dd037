"""`ManualClock`: a `wats_converter.clock.Clock` that moves only when the test says so, and
`settle()`, which lets every ready task run (a test's "and then nothing else happens now")."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class ManualClock:
    """A `Clock` for tests: time stands still until `advance` moves it.

    `sleep(s)` waits until the clock has been advanced by `s` from the moment it was called;
    `advance` wakes every sleeper whose time has come, in order, and lets them run before it
    returns, so a test reads as "advance 30 s; the report was retried".
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking (and running) every sleeper that is due.

        Whatever is ready runs first, so a sleep that a task was about to start counts from
        the time before the advance, as it would in real time."""
        await settle()
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, due)
            if not future.done():
                future.set_result(None)
            await settle()
        self._now = target
        await settle()

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock (not counting cancelled ones)."""
        return sum(1 for _, _, future in self._sleepers if not future.done())


async def settle(rounds: int = 20) -> None:
    """Let every ready task run until the event loop has nothing left to do right now."""
    for _ in range(rounds):
        await asyncio.sleep(0)
