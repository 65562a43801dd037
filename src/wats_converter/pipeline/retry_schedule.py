"""RetrySchedule: which pending report is sent next, and when.

Reports in the outbox wait on a time-ordered heap; a sender takes the earliest due one unless the
server gate holds everything back. Each failed send pushes a report back by exponential backoff
with jitter (or the server's Retry-After, whichever is longer). Only the event loop touches it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from wats_converter.clock import Clock
from wats_converter.config import RetryConfig
from wats_converter.logs import FileOutcome, file_fields
from wats_converter.pipeline.error_folder import ErrorInfo
from wats_converter.storage.outbox import OutboxEntry


@dataclass
class PendingReport:
    """A report in the outbox, as the scheduler sees it."""

    report_id: str
    path: Path
    error_folder: Path
    source: str = ""
    converter: str = ""
    attempts: int = 0
    next_at: float = 0.0
    first_seen: float = field(default_factory=time.time)
    generation: int = 0
    """Bumped when a newer body of the same report is spooled while this one waits."""

    @classmethod
    def of(cls, entry: OutboxEntry, path: Path, default_error_folder: Path) -> PendingReport:
        """A report found in the outbox at `path`, with its persisted metadata."""
        return cls(
            entry.report_id,
            path,
            Path(entry.error_folder) if entry.error_folder else default_error_folder,
            entry.source,
            entry.converter,
            attempts=entry.attempts,
            first_seen=entry.first_seen,
        )

    def entry(self, default_error_folder: Path) -> OutboxEntry:
        """Its persisted metadata."""
        folder = "" if self.error_folder == default_error_folder else str(self.error_folder)
        return OutboxEntry(
            self.report_id, self.source, self.converter, folder, self.first_seen, self.attempts
        )

    def rejection(self, exc: Exception, hint: str) -> ErrorInfo:
        """The `.error` of this report once the server refused it."""
        return ErrorInfo(
            file=self.path.name,
            converter=self.converter,
            error_type=type(exc).__name__,
            exception=str(exc),
            attempts=self.attempts + 1,
            report_id=self.report_id,
            source_folder=self.source or None,
            hint=hint,
        )

    def log_fields(self, outcome: FileOutcome) -> dict[str, object]:
        """The structured log fields of this report's outcome."""
        return file_fields(
            file=self.source or None,
            converter=self.converter or None,
            report_id=self.report_id,
            outcome=outcome,
        )


def backoff_s(retry: RetryConfig, attempt: int) -> float:
    """Exponential backoff with jitter: initial_s * 2^(attempt-1), capped at max_s, times 0.5-1."""
    exponent = min(max(attempt, 1) - 1, 30)
    delay: float = min(retry.max_s, retry.initial_s * 2.0**exponent)
    return delay * random.uniform(0.5, 1.0)


class RetrySchedule:
    """Pending reports by due time; `items` is every report in the outbox."""

    def __init__(self, retry: RetryConfig, clock: Clock) -> None:
        self.retry = retry
        self.clock = clock
        self.items: dict[str, PendingReport] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._inflight: set[str] = set()
        self.wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def schedule(self, item: PendingReport, at: float | None = None) -> None:
        """Due at `at` (default: now)."""
        self.items[item.report_id] = item
        item.next_at = self.clock.now() if at is None else at
        heapq.heappush(self._heap, (item.next_at, next(self._seq), item.report_id))
        self._idle.clear()
        self.wake.set()

    def backoff(
        self, item: PendingReport, retry_after_s: float | None, *, counted: bool = False
    ) -> None:
        """Due again after its backoff (`counted`: the failed attempt is already counted)."""
        if not counted:
            item.attempts += 1
        wait = max(backoff_s(self.retry, item.attempts), retry_after_s or 0.0)
        self.schedule(item, self.clock.now() + wait)

    def all_due(self) -> int:
        """Make every report due now (the server is back, or an operator asked)."""
        now = self.clock.now()
        for item in self.items.values():
            item.next_at = now
        self._heap = [(now, next(self._seq), rid) for rid in self.items]
        heapq.heapify(self._heap)
        self.wake.set()
        return len(self.items)

    def pick(self, held_until: float) -> tuple[PendingReport | None, float | None]:
        """The next due report (now in flight), or how long to wait (None: until woken);
        nothing is due before `held_until` (the server gate)."""
        now = self.clock.now()
        while self._heap:
            due_at, _, report_id = self._heap[0]
            item = self.items.get(report_id)
            if item is None or item.next_at != due_at or report_id in self._inflight:
                heapq.heappop(self._heap)  # stale: sent, rescheduled, or already in flight
                continue
            if held_until > now or due_at > now:
                return None, max(held_until, due_at) - now
            heapq.heappop(self._heap)
            self._inflight.add(report_id)
            return item, None
        return None, None

    def sent(self, item: PendingReport) -> None:
        """A send of `item` is over, whatever its outcome. A heap entry pushed for it while it
        was in flight was dropped by `pick` as stale: it is pushed again."""
        self._inflight.discard(item.report_id)
        if self.items.get(item.report_id) is item:
            heapq.heappush(self._heap, (item.next_at, next(self._seq), item.report_id))
        self.wake.set()

    def in_flight(self) -> int:
        """How many pending reports are being sent right now."""
        return len(self._inflight)

    def forget(self, item: PendingReport) -> None:
        self.items.pop(item.report_id, None)
        if not self.items:
            self._idle.set()

    async def wait_woken(self, timeout_s: float | None) -> None:
        """Until `schedule`/`sent`/`all_due` (or the gate) wakes the senders, or `timeout_s`
        on the clock has passed."""
        if timeout_s is None:
            await self.wake.wait()
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout_s))
        woken = asyncio.ensure_future(self.wake.wait())
        try:
            await asyncio.wait((sleeper, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()

    async def wait_empty(self) -> None:
        while self.items:
            self._idle.clear()
            await self._idle.wait()
