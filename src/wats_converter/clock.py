"""The one source of time for the service's decisions (backoff, settle times, ages, deadlines).

Stages take a `Clock` instead of calling `time.monotonic` and `asyncio.sleep`, so that tests can
drive their decisions with `wats_converter.testing.ManualClock` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds for intervals, and a sleep that the same clock ends."""

    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` have passed on this clock."""
        ...


class SystemClock:
    """The real clock: `time.monotonic` and `asyncio.sleep`."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


SYSTEM_CLOCK = SystemClock()


async def wait_event(event: asyncio.Event, clock: Clock, timeout_s: float | None) -> None:
    """Until `event` is set or `timeout_s` has passed on `clock` (None: no time limit).

    On the system clock this is `asyncio.timeout` (no extra task per wait, for hot paths);
    any other clock ends the wait with its own `sleep`.
    """
    if timeout_s is None:
        await event.wait()
        return
    if isinstance(clock, SystemClock):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, timeout_s)):
                await event.wait()
        return
    waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(clock.sleep(timeout_s))]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
