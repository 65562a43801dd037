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
        self._failing: set[str] = set()  # chores whose last turn failed (logged once)

    async def run(self) -> None:
        while True:
            await self.beat()
            await asyncio.sleep(INTERVAL_S)

    async def beat(self) -> None:
        """One beat. Each chore has its turn even when another fails: a journal that cannot be
        written must not stop the status file and the watchdog ping, which tell the operator
        and systemd that the service still runs (and say what fails)."""
        self._chore("flush the journal", self.flush)
        self._chore("take the retry request", self._take_retry_request)
        self._chore("ping the systemd watchdog", self._ping_watchdog)
        try:
            # the snapshot on the loop, only the writing in a thread
            await asyncio.to_thread(write_status, self.state_dir, self.snapshot())
        except Exception as exc:  # status is a report on the service, never a reason to stop it
            self._failed("write the status file", exc)
        else:
            self._recovered("write the status file")

    def _chore(self, what: str, chore: Callable[[], None]) -> None:
        try:
            chore()
        except Exception as exc:
            self._failed(what, exc)
        else:
            self._recovered(what)

    def _failed(self, what: str, exc: Exception) -> None:
        if what in self._failing:  # said once; every second would bury the rest of the log
            return
        self._failing.add(what)
        log.error("cannot %s: %s; trying again every %g s", what, exc, INTERVAL_S, exc_info=exc)

    def _recovered(self, what: str) -> None:
        if what in self._failing:
            self._failing.discard(what)
            log.info("could %s again", what)

    def _ping_watchdog(self) -> None:
        if self._watchdog_s is not None and time.monotonic() - self._pinged >= self._watchdog_s:
            systemd.notify("WATCHDOG=1")
            self._pinged = time.monotonic()

    def write_now(self) -> None:
        """The last status, as the service stops."""
        write_status(self.state_dir, self.snapshot())

    def _take_retry_request(self) -> None:
        target = take_retry_request(self.state_dir)
        if target is None:
            return
        count = self.retry_now(None if target == ALL_PENDING else target)
        log.info("retrying %d pending reports now, as requested", count)
