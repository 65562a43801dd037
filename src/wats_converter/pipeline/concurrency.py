"""AdaptiveLimit: how many POSTs may be in flight, learned from how the server answers; and
HandOff, the bounded hand-over of work from the workers to delivery.

The approach of Vector's adaptive request concurrency, which is TCP's AIMD applied to requests:
time is cut into windows of about one round trip; at the end of each window

- any back-pressure in it (429, 503, a timeout, a refused connection: every transient failure)
  cuts the limit in half;
- otherwise a window whose mean round trip is `TOLERANCE` (50 %) above the baseline means the
  server queues our requests: the limit shrinks by a tenth (`DECREASE`);
- otherwise, if the limit was actually reached in the window, it grows: doubling until the first
  cut (slow start, so a fast server is used fully within a few round trips), then by one.

The baseline is a moving average of past windows' round trips that falls quickly and rises
slowly (`FALL_ALPHA`, `RISE_ALPHA`): it stands for "how fast this server answers when it is not
queueing", follows a server that has become slower for good within some ten windows, and
ignores the jitter of a busy station PC (measured: 100 ms answers seen as 110-230 ms on a loaded
2-core machine). The limit stays between 1 and `maximum` (`server.max_concurrent`). A server
that answers after a fixed 100 ms (a WAN) keeps its round trip flat, so the limit climbs to the
maximum; one that slows down as it gets busier stops it where its latency starts to rise.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
from collections.abc import Awaitable, Callable

from wats_converter.clock import Clock

INITIAL_LIMIT = 4
RISE_ALPHA = 0.1
FALL_ALPHA = 0.5
TOLERANCE = 0.5
"""A window's round trip may exceed the baseline by this fraction before it counts as rising."""
DECREASE = 0.9
BACKPRESSURE_DECREASE = 0.5
MIN_WINDOW_S = 0.005
log = logging.getLogger(__name__)


class AdaptiveLimit:
    """An async semaphore whose size follows the server (AIMD)."""

    def __init__(self, maximum: int, clock: Clock, initial: int = INITIAL_LIMIT) -> None:
        self.maximum = max(1, maximum)
        self.clock = clock
        self.limit = max(1, min(initial, self.maximum))
        self.in_flight = 0
        self.peak_in_flight = 0
        self.baseline_s: float | None = None
        self._slow_start = True
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._window_start = clock.now()
        self._window_rtts: list[float] = []
        self._backpressure = False
        self._reached = False

    async def acquire(self) -> float:
        """Wait for room under the limit; return the start time to give back to `release`."""
        while self.in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled: the room goes to the next one
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        if self.in_flight >= self.limit:
            self._reached = True
        return self.clock.now()

    def release(self, started: float, *, backpressure: bool = False, answered: bool = True) -> None:
        """A request that began at `started` is over. `backpressure`: the server said it is
        overloaded (or did not answer); `answered`: its round trip says something about the
        server (False for a request that never reached it)."""
        self.in_flight -= 1
        now = self.clock.now()
        if now - self._window_start >= self._window_s():
            self._end_window(now)  # an answer after the window's end belongs to the next one
        if backpressure:
            self._backpressure = True
        elif answered:
            self._window_rtts.append(now - started)
        self._wake()

    def _window_s(self) -> float:
        return max(MIN_WINDOW_S, self.baseline_s or 0.0)

    def _end_window(self, now: float) -> None:
        mean = sum(self._window_rtts) / len(self._window_rtts) if self._window_rtts else None
        if self._backpressure:
            self._cut(BACKPRESSURE_DECREASE)
        elif mean is not None and self._rising(mean):
            self._cut(DECREASE)
        elif self._reached and self.limit < self.maximum:
            grown = self.limit * 2 if self._slow_start else self.limit + 1
            self.limit = min(self.maximum, grown)
        if mean is not None:
            self._learn(mean)
        self._window_start = now
        self._window_rtts = []
        self._backpressure = False
        self._reached = self.in_flight >= self.limit

    def _rising(self, mean: float) -> bool:
        return self.baseline_s is not None and mean > self.baseline_s * (1 + TOLERANCE)

    def _learn(self, mean: float) -> None:
        if self.baseline_s is None:
            self.baseline_s = mean
            return
        alpha = RISE_ALPHA if mean > self.baseline_s else FALL_ALPHA
        self.baseline_s += alpha * (mean - self.baseline_s)

    def _cut(self, ratio: float) -> None:
        self._slow_start = False
        self.limit = max(1, math.floor(self.limit * ratio))

    def _wake(self) -> None:
        for _ in range(max(0, self.limit - self.in_flight)):
            if not self._waiters:
                return
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


class HandOff:
    """Work handed to tasks of one owner, at most `room` at a time: `submit` waits while the
    owner is full (back-pressure on the caller) and returns once a task of the owner has it.

    One task per piece of work, from the hand-over to whatever the caller does after it: the
    work is the caller's whole story from there on and handles its own failures (one that
    escapes is logged, so it cannot stop the owner's other work). The tasks live in `run`'s
    task group, so they stop with their owner; without a running owner, `submit` does the work
    itself before it returns.
    """

    def __init__(self, room: int) -> None:
        self._room = asyncio.Semaphore(room)
        self._group: asyncio.TaskGroup | None = None
        self.waiting = 0
        """Work handed over and not finished."""

    async def submit(
        self, work: Callable[[], Awaitable[None]], dropped: Callable[[], None] = lambda: None
    ) -> None:
        """Hand `work` over; `dropped` is called instead if the owner stops before it began."""
        if self._group is None:
            await work()
            return
        await self._room.acquire()
        task = self._start(work, dropped)
        if task is None:  # the owner stopped while we waited for room
            self._room.release()
            await work()
            return
        self.waiting += 1

    def _start(
        self, work: Callable[[], Awaitable[None]], dropped: Callable[[], None]
    ) -> asyncio.Task[None] | None:
        group = self._group
        if group is None:
            return None
        began = False

        async def run() -> None:
            nonlocal began
            began = True
            try:
                await work()
            except Exception:
                log.exception("unexpected error in handed-over work")

        def finished(_: asyncio.Task[None]) -> None:
            # a done-callback, not a `finally`: a task cancelled before its first step runs none
            self.waiting -= 1
            self._room.release()
            if not began:
                dropped()

        try:
            task = group.create_task(run())
        except RuntimeError:  # its task group is shutting down
            return None
        task.add_done_callback(finished)
        return task

    async def run(self) -> None:
        """Own the handed-over work until cancelled (then it is cancelled too)."""
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                await asyncio.Event().wait()
        finally:
            self._group = None
