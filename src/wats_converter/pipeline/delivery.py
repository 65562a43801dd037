"""Delivery: the hand-over of converted reports to the server.

`deliver` is the one way in. While the server answers, a report is POSTed straight away: until the
2xx its source file, still untouched in the watch folder, is its durable copy (a crash only means
converting it again, with the same id). Otherwise, or when that POST fails, the report is written
to `pending/<id>.json.queued` (exactly the WSJF body to POST, atomically, fsynced) before the
source is post-processed, and sent from there; the file is removed only after the server answered
2xx. Failures are classified (errors.py):

- transient (refused, timeout, 5xx, 429): the report stays; it is retried with exponential
  backoff and jitter. When several sends fail in a row the whole queue waits (one probe at a time)
  instead of hammering a server that is down; the first success releases every report at once.
- rejected (400, 413, ...): the report moves to the error folder with a `.error` file.
- paused (401, 403, 404, TLS trust): nothing is sent until a probe (`GET /api/App/Version`)
  succeeds; no report is moved, the reason is logged and shown by `status`.

Because report ids are deterministic, sending a report twice (a crash after the server stored it
but before the file was removed) overwrites on the server; it never duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from wats_converter.config import RetryConfig
from wats_converter.errors import ReportRejected, ServerUnavailable, SubmissionPaused, SubmitError
from wats_converter.failpoints import failpoint
from wats_converter.logs import file_fields
from wats_converter.pipeline.error_folder import ErrorInfo, quarantine
from wats_converter.stats import ServiceStats
from wats_converter.storage.durable import TMP_SUFFIX, fsync_dir, write_atomic
from wats_converter.wats_client import WatsClient

log = logging.getLogger(__name__)
QUEUED_SUFFIX = ".json.queued"
OUTAGE_AFTER_FAILURES = 3
PROBE_INTERVAL_MAX_S = 60.0


@dataclass
class PendingReport:
    report_id: str
    path: Path
    error_folder: Path
    source: str = ""
    converter: str = "pending"
    attempts: int = 0
    next_at: float = 0.0
    first_seen: float = field(default_factory=time.time)
    generation: int = 0


class DirSync:
    """Coalesces folder fsyncs: concurrent writers share one fsync that covers all of them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._requested = 0
        self._synced = 0
        self._lock = asyncio.Lock()

    async def sync(self) -> None:
        self._requested += 1
        mine = self._requested
        async with self._lock:
            if self._synced >= mine:
                return
            upto = self._requested
            await asyncio.to_thread(fsync_dir, self.folder)
            self._synced = upto


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


class Delivery:
    """The durable outbox between conversion and the server."""

    def __init__(
        self,
        folder: Path,
        client: WatsClient,
        *,
        retry: RetryConfig,
        error_folder: Path,
        stats: ServiceStats,
        max_concurrent: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.client = client
        self.retry = retry
        self.error_folder = error_folder
        self.stats = stats
        self.max_concurrent = max_concurrent
        self.clock = clock
        self._items: dict[str, PendingReport] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._inflight: set[str] = set()
        self._wake = asyncio.Event()
        self._dir_sync = DirSync(folder)
        self._ids = IdLocks()
        self._failures_in_row = 0
        self._gate_until = 0.0
        self._probing = False
        self._paused = asyncio.Event()  # set while paused
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False  # a stop: start no new send
        self._quiet = asyncio.Event()  # set while no send from pending/ is in flight
        self._quiet.set()

    # -- intake ------------------------------------------------------------------------------

    async def deliver(
        self,
        reports: list[tuple[str, bytes]],
        *,
        error_folder: Path | None = None,
        source: str = "",
        converter: str = "pending",
    ) -> int:
        """Hand over `(report id, body)`s; return how many the server has already accepted.

        Returns once every report is either accepted by the server or durable in pending/, so the
        caller may then post-process the source."""
        failed: dict[str, SubmitError] = {}
        unsent: list[tuple[str, bytes]] = []
        async with self._ids.hold([report_id for report_id, _ in reports]):
            for report_id, body in reports:
                if unsent or not self._direct_ok(report_id):
                    unsent.append((report_id, body))
                    continue
                try:
                    await self._submit_direct(report_id, body, source)
                except SubmitError as exc:
                    failed[report_id] = exc
                    unsent.append((report_id, body))
            if unsent:
                await self._spool(unsent, error_folder, source, converter, failed)
        return len(reports) - len(unsent)

    def _enqueue(
        self,
        report_id: str,
        path: Path,
        error_folder: Path | None,
        source: str,
        converter: str,
    ) -> PendingReport:
        item = self._items.get(report_id)
        if item is None:
            item = PendingReport(
                report_id, path, error_folder or self.error_folder, source, converter
            )
            self._items[report_id] = item
        else:
            item.generation += 1  # re-spooled while pending: the newest body must be sent
        return item

    def _direct_ok(self, report_id: str) -> bool:
        """Send straight away unless the server is paused, backed off from, or being probed; and
        never past an older body of the same report that is still pending (it would overwrite
        the newer one later)."""
        if self.paused or self._gate_until > self.clock() or report_id in self._items:
            return False
        return not (self._in_outage() and self._probing)

    def _in_outage(self) -> bool:
        return self._failures_in_row >= OUTAGE_AFTER_FAILURES

    async def _submit(self, body: bytes, report_id: str) -> None:
        """One POST, timed for the submit-latency histogram whatever its outcome."""
        started = time.monotonic()
        try:
            await self.client.submit(body, report_id)
        finally:
            self.stats.submit_seconds.observe(time.monotonic() - started)

    async def _submit_direct(self, report_id: str, body: bytes, source: str) -> None:
        # in an outage this send is the one probe: with nothing pending, nobody else would ask
        probe = self._in_outage()
        if probe:
            self._probing = True
        try:
            await self._submit(body, report_id)
        except ServerUnavailable as exc:
            self._note_unavailable(exc)
            raise
        except ReportRejected:
            self._note_answer("rejected")
            raise
        except SubmissionPaused as exc:
            self._note_answer("paused")
            self._pause(str(exc))
            raise
        finally:
            if probe:
                self._probing = False
        self._note_answer("ok")
        failpoint("after_2xx")
        self.stats.submitted += 1
        log.debug("submitted report %s%s", report_id, f" ({source})" if source else "")
        if probe:
            self._released()

    async def _spool(
        self,
        reports: list[tuple[str, bytes]],
        error_folder: Path | None,
        source: str,
        converter: str,
        failed: dict[str, SubmitError],
    ) -> None:
        """Write and queue (the caller holds the ids' locks); a report the server already
        refused is filed at once, one that met an unavailable server waits its backoff."""
        paths = [self.folder / f"{report_id}{QUEUED_SUFFIX}" for report_id, _ in reports]
        ids = [report_id for report_id, _ in reports]
        try:
            await asyncio.to_thread(_write_queued, paths, [body for _, body in reports])
            await self._dir_sync.sync()  # one folder fsync covers every writer waiting with us
            failpoint("after_spool_rename")
        except BaseException:
            # the source stays in place and is converted again, but whatever reached pending/
            # is sent from there too (same id: an overwrite), never left behind unqueued
            for report_id, path in zip(ids, paths, strict=True):
                if path.exists():
                    self._schedule(
                        self._enqueue(report_id, path, error_folder, source, converter),
                        self.clock(),
                    )
            raise
        for report_id, path in zip(ids, paths, strict=True):
            item = self._enqueue(report_id, path, error_folder, source, converter)
            exc = failed.get(report_id)
            if isinstance(exc, ReportRejected):
                self._reject(item, exc)
            elif isinstance(exc, ServerUnavailable):
                self._backoff(item, exc.retry_after_s)
            else:
                self._schedule(item, self.clock())

    def recover(self) -> int:
        """Queue every `.queued` file already in the folder (oldest first); drop stale temps."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for tmp in self.folder.glob(f".*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()
        found = []
        for path in self.folder.glob(f"*{QUEUED_SUFFIX}"):
            with contextlib.suppress(OSError):
                found.append((path.stat().st_mtime, path))
        now = self.clock()
        for mtime, path in sorted(found):
            report_id = path.name[: -len(QUEUED_SUFFIX)]
            if report_id not in self._items:
                item = PendingReport(report_id, path, self.error_folder, first_seen=mtime)
                self._items[report_id] = item
                self._schedule(item, now)
        return len(found)

    # -- state -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def oldest_age_s(self) -> float:
        if not self._items:
            return 0.0
        return max(0.0, time.time() - min(i.first_seen for i in self._items.values()))

    async def wait_empty(self) -> None:
        """Until nothing is pending (used by `run --once` and tests)."""
        while self._items:
            self._idle.clear()
            await self._idle.wait()

    def retry_now(self, report_id: str | None = None) -> int:
        """Make one (or every) pending report due immediately; return how many."""
        self._gate_until = 0.0
        now = self.clock()
        if report_id is not None:
            if report_id not in self._items:
                return 0
            self._schedule(self._items[report_id], now)
            return 1
        for item in self._items.values():
            item.next_at = now
        self._heap = [(now, next(self._seq), rid) for rid in self._items]
        heapq.heapify(self._heap)
        self._wake.set()
        return len(self._items)

    def stop_sending(self) -> None:
        """Start no new send from pending/ (a stop): those in flight finish, the rest wait."""
        self._stopping = True
        self._wake.set()

    async def wait_sends_done(self) -> None:
        """Until no send from pending/ is in flight."""
        await self._quiet.wait()

    # -- sending -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Send forever with `max_concurrent` senders (cancel to stop)."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self.max_concurrent):
                group.create_task(self._sender())

    async def _sender(self) -> None:
        while True:
            item = await self._next_due()
            try:
                await self._send(item)
            except Exception:  # a sender must survive anything; the report stays pending
                log.exception(
                    "unexpected error sending report %s; it stays pending", item.report_id
                )
                self._backoff(item, None)
            finally:
                self._inflight.discard(item.report_id)
                if not self._inflight:
                    self._quiet.set()
                self._wake.set()

    async def _next_due(self) -> PendingReport:
        while True:
            self._wake.clear()
            item, wait = self._pick(self.clock())
            if item is not None:
                return item
            if not self._items:
                self._idle.set()
            # asyncio.timeout, not wait_for: no extra task per wait on this hot path
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _pick(self, now: float) -> tuple[PendingReport | None, float | None]:
        """The next report to send, or how long to wait (None: until woken)."""
        if self.paused or self._stopping:
            return None, None
        gated = self._gate_until > now
        outage = self._in_outage()
        if outage and self._probing:
            return None, None  # one probe at a time while the server is down
        while self._heap:
            due_at, _, report_id = self._heap[0]
            item = self._items.get(report_id)
            if item is None or item.next_at != due_at or report_id in self._inflight:
                heapq.heappop(self._heap)  # stale: sent, rescheduled, or already in flight
                continue
            if gated or due_at > now:
                return None, max(self._gate_until, due_at) - now
            heapq.heappop(self._heap)
            self._inflight.add(report_id)
            self._quiet.clear()
            self._probing = outage
            return item, None
        return None, None

    async def _send(self, item: PendingReport) -> None:
        probe = self._probing
        try:
            # a report is never re-spooled while it is being sent or its file removed
            async with self._ids.hold([item.report_id]):
                await self._send_once(item, probe)
        finally:
            if probe:
                self._probing = False

    async def _send_once(self, item: PendingReport, probe: bool) -> None:
        if (
            self.retry.max_age_s is not None
            and time.time() - item.first_seen > self.retry.max_age_s
        ):
            self._reject(
                item,
                ReportRejected(
                    f"not accepted within retry.max_age_s ({self.retry.max_age_s:g} s)", status=0
                ),
            )
            return
        generation = item.generation
        try:
            body = await asyncio.to_thread(item.path.read_bytes)
        except FileNotFoundError:
            log.warning("pending report %s vanished from %s", item.report_id, self.folder)
            self._forget(item)
            return
        except OSError as exc:
            log.warning("cannot read pending report %s (%s); will retry", item.path, exc.strerror)
            self._backoff(item, None)
            return
        try:
            await self._submit(body, item.report_id)
        except ServerUnavailable as exc:
            self._note_failure(item, exc)
        except ReportRejected as exc:
            self._note_answer("rejected")
            self._reject(item, exc)
        except SubmissionPaused as exc:
            self._note_answer("paused")
            self._pause(str(exc))
            self._schedule(item, self.clock())
        else:
            self._note_answer("ok")
            await self._delivered(item, generation, released=probe)

    async def _delivered(self, item: PendingReport, generation: int, *, released: bool) -> None:
        failpoint("after_2xx")
        self.stats.submitted += 1
        if item.generation != generation:  # re-spooled during the send: send the new body too
            self._schedule(item, self.clock())
            return
        await asyncio.to_thread(_unlink, item.path)
        self._forget(item)
        log.info(
            "submitted report %s%s",
            item.report_id,
            f" ({item.source})" if item.source else "",
            extra=file_fields(
                file=item.source or None,
                converter=item.converter or None,
                report_id=item.report_id,
                outcome="submitted",
            ),
        )
        if released:
            self._released()

    def _released(self) -> None:
        log.info("server reachable again: sending %d pending reports", len(self._items))
        self.retry_now()  # every report at once, not each on its own backoff

    def _note_answer(self, outcome: str) -> None:
        self._failures_in_row = 0
        self._gate_until = 0.0
        self.stats.submit_attempts[outcome] += 1
        self.stats.last_submit_result = outcome
        self.stats.last_submit_at = time.time()

    def _note_failure(self, item: PendingReport, exc: ServerUnavailable) -> None:
        self._backoff(item, exc.retry_after_s)
        self._note_unavailable(exc)

    def _note_unavailable(self, exc: ServerUnavailable) -> None:
        self._failures_in_row += 1
        self.stats.submit_attempts["transient"] += 1
        self.stats.last_submit_result = f"failed: {exc}"
        self.stats.last_submit_at = time.time()
        if self._failures_in_row == OUTAGE_AFTER_FAILURES:
            log.warning(
                "server unavailable (%s); %d reports wait in %s", exc, len(self._items), self.folder
            )
        wait = exc.retry_after_s or 0.0
        if self._in_outage():
            # the server, not this report, is the problem: back off the whole queue
            wait = max(wait, self._delay(self._failures_in_row - OUTAGE_AFTER_FAILURES + 1))
        if wait:
            self._gate_until = max(self._gate_until, self.clock() + wait)

    def _backoff(self, item: PendingReport, retry_after_s: float | None) -> None:
        item.attempts += 1
        self._schedule(item, self.clock() + max(self._delay(item.attempts), retry_after_s or 0.0))

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: initial_s * 2^(attempt-1), capped at max_s."""
        exponent = min(attempt - 1, 30)
        delay: float = min(self.retry.max_s, self.retry.initial_s * 2.0**exponent)
        return delay * random.uniform(0.5, 1.0)

    def _reject(self, item: PendingReport, exc: ReportRejected) -> None:
        self.stats.rejected += 1
        self.stats.last_error = f"report {item.report_id} rejected: {exc}"
        info = ErrorInfo(
            file=item.path.name,
            converter=item.converter,
            error_type=type(exc).__name__,
            exception=str(exc),
            attempts=item.attempts + 1,
            report_id=item.report_id,
            source_folder=item.source or None,
            hint="The server refused this report and will refuse it again. Fix the source file "
            "or the converter, then drop the file in again (or `errors requeue`).",
        )
        try:
            moved = quarantine(item.path, item.error_folder, info, name=f"{item.report_id}.json")
        except OSError as err:
            log.error(
                "report %s rejected (%s) but cannot move it to %s: %s; it stays in %s",
                item.report_id,
                exc,
                item.error_folder,
                err,
                self.folder,
            )
            self._backoff(item, None)
            return
        log.error(
            "report %s rejected by the server: %s -> %s",
            item.report_id,
            exc,
            moved,
            extra=file_fields(
                file=item.source or None,
                converter=item.converter or None,
                report_id=item.report_id,
                outcome="rejected",
            ),
        )
        self._forget(item)

    def _pause(self, reason: str) -> None:
        if not self.paused:
            log.error(
                "SUBMISSION PAUSED: %s. Reports stay in %s until this is fixed; "
                "checking again in %g s, then less often (at most every %g s).",
                reason,
                self.folder,
                self._probe_interval(),
                PROBE_INTERVAL_MAX_S,
            )
            self.stats.paused_reason = reason
            self._paused.set()
            asyncio.get_running_loop().create_task(self._probe_until_resumed())

    def _probe_interval(self) -> float:
        return min(PROBE_INTERVAL_MAX_S, max(self.retry.initial_s, 1.0))

    async def _probe_until_resumed(self) -> None:
        delay = self._probe_interval()
        while True:
            await asyncio.sleep(delay)
            try:
                await self.client.version()
            except (ServerUnavailable, SubmissionPaused) as exc:
                self.stats.paused_reason = (
                    str(exc) if isinstance(exc, SubmissionPaused) else (self.stats.paused_reason)
                )
                delay = min(PROBE_INTERVAL_MAX_S, delay * 2)
                continue
            log.info("submission resumed: the server accepts this client again")
            self.stats.paused_reason = ""
            self._paused.clear()
            self.retry_now()
            return

    def _schedule(self, item: PendingReport, at: float) -> None:
        item.next_at = at
        heapq.heappush(self._heap, (at, next(self._seq), item.report_id))
        self._wake.set()

    def _forget(self, item: PendingReport) -> None:
        self._items.pop(item.report_id, None)
        if not self._items:
            self._idle.set()


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _write_queued(paths: list[Path], bodies: list[bytes]) -> None:
    for path, body in zip(paths, bodies, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)  # someone may have deleted the folder
        write_atomic(path, body, sync_dir=False, failpoint_name="spool_before_rename")
