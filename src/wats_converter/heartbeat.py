"""The service's one-second beat: the chores that keep a running service observable and
answering, none of them a stage of a file's way.

Every second: flush the journal (lazily cleared attempts reach the disk within a second), take
a retry request left by `pending retry`, ping the systemd watchdog when it asks for pings, and
write `status.json`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from wats_converter import systemd
from wats_converter.status import ALL_PENDING, Status, take_retry_request, write_status

log = logging.getLogger(__name__)
INTERVAL_S = 1.0


class Heartbeat:
    """Runs the beat until cancelled; `snapshot` is called on the event loop (only the loop
    may read the queues: it changes them while a thread would iterate them)."""

    def __init__(
        self,
        state_dir: Path,
        snapshot: Callable[[], Status],
        *,
        flush: Callable[[], None],
        retry_now: Callable[[str | None], int],
    ) -> None:
        self.state_dir = state_dir
        self.snapshot = snapshot
        self.flush = flush
        self.retry_now = retry_now
        self._watchdog_s = systemd.watchdog_interval_s()
        self._pinged = 0.0

    async def run(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception:  # status is a report on the service, never a reason to stop it
                log.exception("cannot write the status file; trying again")
            await asyncio.sleep(INTERVAL_S)

    async def beat(self) -> None:
        self.flush()
        self._take_retry_request()
        if self._watchdog_s is not None and time.monotonic() - self._pinged >= self._watchdog_s:
            systemd.notify("WATCHDOG=1")
            self._pinged = time.monotonic()
        # the snapshot on the loop, only the writing in a thread
        await asyncio.to_thread(write_status, self.state_dir, self.snapshot())

    def write_now(self) -> None:
        """The last status, as the service stops."""
        write_status(self.state_dir, self.snapshot())

    def _take_retry_request(self) -> None:
        target = take_retry_request(self.state_dir)
        if target is None:
            return
        count = self.retry_now(None if target == ALL_PENDING else target)
        log.info("retrying %d pending reports now, as requested", count)
