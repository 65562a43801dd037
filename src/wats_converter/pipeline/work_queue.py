"""WorkQueue: files waiting to be converted, by priority (10 first), then arrival.

Priority is applied when a worker asks for the next file, so a priority-10 file dropped behind
thousands of priority-1 files is converted next. The queue holds each path once (startup scan,
rescans and watcher events overlap) and only small records, never tasks or file contents.
Files that are not ready yet (still settling, retry later) wait in a separate time-ordered heap.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass
from pathlib import Path

from wats_converter.clock import SYSTEM_CLOCK, Clock, wait_event
from wats_converter.converters.registry import ConverterSlot


@dataclass(slots=True)
class WorkItem:
    path: Path
    slot: ConverterSlot
    ready_at: float
    seq: int


class WorkQueue:
    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock  # the worker pool times its decisions on the same clock
        self._items: dict[Path, WorkItem] = {}
        self._ready: list[tuple[int, int, Path]] = []  # (-priority, seq, path)
        self._delayed: list[tuple[float, int, Path]] = []  # (ready_at, seq, path)
        self._inflight: set[Path] = set()
        # offered while in work: the file may have been replaced under the same name, so it is
        # looked at again once the worker is done with it (an event is never dropped)
        self._again: dict[Path, tuple[ConverterSlot, float]] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._closed = False
        self._idle = asyncio.Event()  # set while nothing is in work
        self._idle.set()
        self._changed = asyncio.Event()  # a file joined the queue or left work (for `quiet`)

    def put_nowait(self, path: Path, slot: ConverterSlot, delay_s: float = 0.0) -> bool:
        """Queue `path` (ready after `delay_s`); False if it is already queued or in work.

        Offering a queued path again can only make it ready sooner; offering one in work queues
        it again when its worker is done.
        """
        if path in self._inflight:
            self._again[path] = (slot, delay_s)
            return False
        ready_at = self.clock.now() + delay_s
        item = self._items.get(path)
        if item is not None:
            if ready_at < item.ready_at:
                item.ready_at = ready_at
                self._push(item)
            return False
        item = WorkItem(path, slot, ready_at, next(self._seq))
        self._items[path] = item
        self._push(item)
        return True

    def _push(self, item: WorkItem) -> None:
        if item.ready_at <= self.clock.now():
            heapq.heappush(self._ready, (-item.slot.priority, item.seq, item.path))
        else:
            heapq.heappush(self._delayed, (item.ready_at, item.seq, item.path))
        self._wake.set()
        self._changed.set()

    async def get(self) -> WorkItem:
        """The most urgent ready file (waits for one); it counts as in work until `done`.

        Once the queue is closed it hands out nothing more: a worker asking waits until it is
        cancelled."""
        while True:
            self._wake.clear()
            if self._closed:
                await asyncio.Future()  # never done: the stop cancels the waiting worker
            self._promote()
            while self._ready:
                _, seq, path = heapq.heappop(self._ready)
                item = self._items.get(path)
                if item is None or item.seq != seq or item.ready_at > self.clock.now():
                    continue  # stale heap entry
                del self._items[path]
                self._inflight.add(path)
                self._idle.clear()
                return item
            wait = self._delayed[0][0] - self.clock.now() if self._delayed else None
            await wait_event(self._wake, self.clock, wait)

    def _promote(self) -> None:
        now = self.clock.now()
        while self._delayed and self._delayed[0][0] <= now:
            ready_at, seq, path = heapq.heappop(self._delayed)
            item = self._items.get(path)
            if item is not None and item.seq == seq and item.ready_at == ready_at:
                heapq.heappush(self._ready, (-item.slot.priority, item.seq, path))

    def done(self, path: Path) -> None:
        self._inflight.discard(path)
        self._changed.set()
        again = self._again.pop(path, None)
        if again is not None:
            self.put_nowait(path, *again)
        if not self._inflight:
            self._idle.set()

    def close(self) -> None:
        """Hand out no more files (a stop): those in work are finished, the rest stay on disk."""
        self._closed = True
        self._wake.set()

    async def wait_idle(self) -> None:
        """Until no file is in work."""
        await self._idle.wait()

    async def quiet(self) -> None:
        """Return once no file is in work and none is ready: the workers have done all they
        can until time passes (files queued for later may remain). Needs running workers."""
        while self._inflight or self._has_ready():
            self._changed.clear()
            await self._changed.wait()

    def _has_ready(self) -> bool:
        self._promote()
        now = self.clock.now()
        while self._ready:
            _, seq, path = self._ready[0]
            item = self._items.get(path)
            if item is not None and item.seq == seq and item.ready_at <= now:
                return True
            heapq.heappop(self._ready)  # stale heap entry
        return False

    def qsize(self) -> int:
        return len(self._items)

    def in_work(self) -> int:
        return len(self._inflight)

    def empty(self) -> bool:
        return not self._items and not self._inflight

    def only(self, paths: set[Path]) -> bool:
        """Whether nothing is in work and every queued path is one of `paths`."""
        return not self._inflight and self._items.keys() <= paths
