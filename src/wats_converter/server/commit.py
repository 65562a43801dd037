"""Group commit: the local server's reports reach the disk in shared transactions, off its loop.

A report POST is answered 2xx only once its row is committed (fsync'd, `synchronous=FULL`): the
server never acknowledges a report it could still lose, not even to a power cut. One fsync per
report would cap the server at the disk's fsync rate (about 3 ms each on a small VM), so one
writer thread commits whatever has queued up while the previous commit ran, in one transaction:
under load, many requests share each fsync; alone, a request waits for one commit only. SQLite
releases the GIL while it works, so the commits run beside the loop's parsing and checking (on
another core when there is one), and the loop is woken once per batch, not once per report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading

from wats_converter.server.store import ReportStore, Row

log = logging.getLogger(__name__)
MAX_BATCH = 256  # rows per transaction: bounds one commit's time (and its WAL growth)
Waiter = tuple[Row, "asyncio.Future[int]", asyncio.AbstractEventLoop]
Outcome = tuple["asyncio.Future[int]", int | BaseException]


class CommitClosed(RuntimeError):
    """The commit thread has stopped: nothing more can be stored."""


class GroupCommit:
    """The one writer of a `ReportStore` for a running server: `await save(row)`."""

    def __init__(self, store: ReportStore, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self.batches = 0  # transactions committed (a figure for tests and benchmarks)
        self._queue: queue.SimpleQueue[Waiter | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        if self._thread is None:
            self._closed = False
            self._thread = threading.Thread(
                target=self._run, daemon=True, name="wats-local-server-commit"
            )
            self._thread.start()

    async def save(self, row: Row) -> int:
        """Store `row`; return its row number once it is committed (raise if it is not)."""
        if self._closed or self._thread is None:
            raise CommitClosed("the local server is stopping: the report was not stored")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        # a request cancelled meanwhile (the client left) leaves its row queued: it is stored
        # all the same, as a server stores what it received
        self._queue.put((row, future, loop))
        return await future

    async def stop(self) -> None:
        """Commit everything queued so far, then end the thread; later saves raise."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._closed = True
        self._queue.put(None)
        await asyncio.to_thread(thread.join)

    def _run(self) -> None:
        while True:
            batch, last = self._take()
            if batch:
                self._commit(batch)
            if last:
                return

    def _take(self) -> tuple[list[Waiter], bool]:
        """The next batch (waiting for its first row), and whether the stop signal came."""
        item = self._queue.get()
        if item is None:
            return [], True
        batch = [item]
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _commit(self, batch: list[Waiter]) -> None:
        try:
            results = self.store.insert([row for row, _, _ in batch])
        except Exception as exc:  # a closed store, or worse: every waiter hears of it
            log.exception("local server: %d report(s) could not be stored", len(batch))
            results = [exc] * len(batch)
        self.batches += 1
        by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        for (_, future, loop), result in zip(batch, results, strict=True):
            by_loop.setdefault(loop, []).append((future, result))
        for loop, outcomes in by_loop.items():
            # one wake-up per batch; a loop closed meanwhile has no one left to tell
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[Outcome]) -> None:
    for future, result in outcomes:
        if future.done():  # cancelled: its request is gone
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
