"""Delivery: the hand-over of converted reports to the server.

`deliver` is the one way in. While the server answers, a report is POSTed straight away: until the
2xx its source file, still untouched in the watch folder, is its durable copy (a crash only means
converting it again, with the same id). Otherwise, or when that POST fails, the report is written
to the outbox (`storage.outbox`: the WSJF body plus its metadata, atomically, fsynced) before the
source is post-processed, and sent from there; it leaves the outbox only after the server
answered 2xx. Each POST's outcome is classified once (`Outcome`) and then acted on:

- transient (refused, timeout, 5xx, 429): the report stays; it is retried with exponential
  backoff and jitter (`RetrySchedule`). When several sends fail in a row the whole delivery waits
  (`ServerGate`: one probe at a time); the first success releases every report at once.
- rejected (400, 413, ...): the report moves to its converter's error folder with a `.error` file
  naming its source.
- paused (401, 403, 404, TLS trust): nothing is sent until a probe (`GET /api/App/Version`)
  succeeds; no report is moved, the reason is logged and shown by `status`.

Because report ids are deterministic, sending a report twice (a crash after the server stored it
but before the file was removed) overwrites on the server; it never duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from wats_converter.clock import SYSTEM_CLOCK, Clock
from wats_converter.config import RetryConfig
from wats_converter.errors import (
    ReportRejected,
    ServerUnavailable,
    SubmissionPaused,
)
from wats_converter.failpoints import failpoint
from wats_converter.logs import FileOutcome
from wats_converter.pipeline.concurrency import AdaptiveLimit, HandOff
from wats_converter.pipeline.id_locks import IdLocks
from wats_converter.pipeline.rejection import file_rejected
from wats_converter.pipeline.retry_schedule import PendingReport, RetrySchedule
from wats_converter.pipeline.server_gate import Attempt, Outcome, ServerGate
from wats_converter.stats import ServiceStats
from wats_converter.storage.outbox import Outbox, OutboxEntry
from wats_converter.wats_client import WatsClient

__all__ = ["Delivery", "Origin", "Outcome", "PendingReport"]
log = logging.getLogger(__name__)
HANDOFF_PER_CONNECTION = 2
"""Reports handed over and not yet sent (or their sources not yet post-processed), per POST that
may be in flight: enough to keep every
connection busy while the workers convert the next files, few enough to bound memory."""


@dataclass(frozen=True)
class Origin:
    """Where a batch of reports came from: kept with them in the outbox."""

    source: str = ""
    converter: str = ""
    error_folder: Path | None = None
    """None: the service's default error folder."""


class Delivery:
    """Submits reports, keeps the ones the server did not take in the outbox, retries them.

    POSTs in flight (direct and from the outbox together) are bounded by an adaptive limit
    (`concurrency.AdaptiveLimit`) of at most `client.max_connections`.
    """

    def __init__(
        self,
        folder: Path,
        client: WatsClient,
        *,
        retry: RetryConfig,
        error_folder: Path,
        stats: ServiceStats,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.folder = folder
        self.client = client
        self.retry = retry
        self.error_folder = error_folder
        self.stats = stats
        self.clock = clock
        self.outbox = Outbox(folder)
        self.schedule = RetrySchedule(retry, clock)
        self.gate = ServerGate(client, retry, stats, clock)
        self.gate.on_release = self.schedule.all_due
        self._ids = IdLocks()
        self.limit = AdaptiveLimit(client.max_connections, clock)
        self._handoff = HandOff(HANDOFF_PER_CONNECTION * client.max_connections)
        # wall-clock time on this clock: report ages survive a restart, tests can advance them
        self._epoch = time.time() - clock.now()
        self._stopping = False  # a stop: no new send from the outbox
        self._sending = 0
        self._quiet = asyncio.Event()  # set while no send from the outbox is in flight
        self._quiet.set()

    @property
    def _items(self) -> dict[str, PendingReport]:
        return self.schedule.items

    def _wall(self) -> float:
        return self._epoch + self.clock.now()

    # -- intake ------------------------------------------------------------------------------

    async def deliver(self, reports: list[tuple[str, bytes]], origin: Origin = Origin()) -> int:
        """Hand over `(report id, body)`s; return how many the server has already accepted.

        Returns once every report is either accepted by the server or durable in the outbox,
        so the caller may then post-process the source. Raises `StorageError` if the outbox
        cannot take a report the server did not accept."""
        failed: dict[str, Attempt] = {}
        unsent: list[tuple[str, bytes]] = []
        async with self._ids.hold([report_id for report_id, _ in reports]):
            for report_id, body in reports:
                if unsent or not self._direct_ok(report_id):
                    unsent.append((report_id, body))
                    continue
                attempt = await self._send_direct(report_id, body, origin)
                if attempt.outcome is not Outcome.ACCEPTED:
                    failed[report_id] = attempt
                    unsent.append((report_id, body))
            if unsent:
                await self._spool(unsent, origin, failed)
        return len(reports) - len(unsent)

    async def hand_over(
        self,
        reports: list[tuple[str, bytes]],
        origin: Origin = Origin(),
        *,
        then: Callable[[Awaitable[int]], Awaitable[None]],
        dropped: Callable[[], None] = lambda: None,
    ) -> None:
        """`deliver` without waiting for it: returns once delivery has room for the reports
        (a caller waits while too many await sending). `then` is given `deliver` to await (its
        result, or its `StorageError`) and goes on from there in the same task: the caller
        post-processes the source when it is done. `dropped` is called instead if delivery
        stops before it began."""
        await self._handoff.submit(lambda: then(self.deliver(reports, origin)), dropped)

    def _direct_ok(self, report_id: str) -> bool:
        """Send straight away unless the gate holds sends back; and never past an older body of
        the same report that is still pending (it would overwrite the newer one later)."""
        return self.gate.open_now() and report_id not in self._items

    async def _send_direct(self, report_id: str, body: bytes, origin: Origin) -> Attempt:
        # in an outage this send is the one probe: with nothing pending, nobody else would ask
        probe = self.gate.begin_send()
        try:
            attempt = await self._attempt(report_id, body)
        finally:
            self.gate.end_send(probe)
        if attempt.outcome is Outcome.ACCEPTED and log.isEnabledFor(logging.DEBUG):
            source = origin.source
            log.debug("submitted report %s%s", report_id, f" ({source})" if source else "")
        return attempt

    async def _attempt(self, report_id: str, body: bytes) -> Attempt:
        """One POST under the concurrency limit, timed, its outcome classified and told to the
        gate (the one place)."""
        slot = await self.limit.acquire()
        started = time.monotonic()
        attempt: Attempt | None = None
        try:
            attempt = await self._post(report_id, body)
        finally:
            self.stats.submit_seconds.observe(time.monotonic() - started)
            # a cancelled POST (a stop) says nothing about the server
            unavailable = attempt is not None and attempt.outcome is Outcome.UNAVAILABLE
            self.limit.release(slot, backpressure=unavailable, answered=attempt is not None)
        if attempt.outcome is Outcome.ACCEPTED:
            failpoint("after_2xx")
            self.stats.submitted += 1
        self.gate.note(attempt, len(self._items))
        return attempt

    async def _post(self, report_id: str, body: bytes) -> Attempt:
        try:
            await self.client.submit(body, report_id)
        except ServerUnavailable as exc:
            return Attempt(Outcome.UNAVAILABLE, exc)
        except ReportRejected as exc:
            return Attempt(Outcome.REJECTED, exc)
        except SubmissionPaused as exc:
            return Attempt(Outcome.PAUSED, exc)
        return Attempt(Outcome.ACCEPTED)

    def _pending(self, report_id: str, origin: Origin) -> PendingReport:
        item = self._items.get(report_id)
        if item is None:
            return PendingReport(
                report_id,
                self.outbox.body_path(report_id),
                origin.error_folder or self.error_folder,
                origin.source,
                origin.converter,
                first_seen=self._wall(),
            )
        item.generation += 1  # re-spooled while pending: the newest body must be sent
        item.source, item.converter = origin.source, origin.converter
        item.error_folder = origin.error_folder or self.error_folder
        return item

    async def _spool(
        self, reports: list[tuple[str, bytes]], origin: Origin, failed: dict[str, Attempt]
    ) -> None:
        """Write to the outbox and schedule (the caller holds the ids' locks); a report the
        server already refused is filed at once, one that met an unavailable server waits its
        backoff."""
        items = [self._pending(report_id, origin) for report_id, _ in reports]
        entries = [item.entry(self.error_folder) for item in items]
        try:
            await self.outbox.put(list(zip(entries, (body for _, body in reports), strict=True)))
        except BaseException:
            # the source stays in place and is converted again, but whatever reached pending/
            # is sent from there too (same id: an overwrite), never left behind unqueued
            for item in items:
                if self.outbox.exists(item.report_id):
                    self.schedule.schedule(item)
            raise
        for item in items:
            attempt = failed.get(item.report_id)
            if attempt is not None and attempt.outcome is Outcome.REJECTED:
                assert isinstance(attempt.error, ReportRejected)
                await self._reject(item, attempt.error)
            elif attempt is not None and attempt.outcome is Outcome.UNAVAILABLE:
                assert isinstance(attempt.error, ServerUnavailable)
                self.schedule.backoff(item, attempt.error.retry_after_s)
            else:
                self.schedule.schedule(item)

    def recover(self) -> int:
        """Queue every report already in the outbox (oldest first), with its metadata."""
        self._adopt(self.outbox.recover())
        return len(self._items)

    def _adopt(self, entries: list[OutboxEntry]) -> None:
        for entry in entries:
            if entry.report_id not in self._items:
                path = self.outbox.body_path(entry.report_id)
                self.schedule.schedule(PendingReport.of(entry, path, self.error_folder))

    # -- state -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    @property
    def paused(self) -> bool:
        return self.gate.paused

    def oldest_age_s(self) -> float:
        if not self._items:
            return 0.0
        return max(0.0, self._wall() - min(i.first_seen for i in self._items.values()))

    async def wait_empty(self) -> None:
        """Until nothing is pending (used by `run --once` and tests)."""
        await self.schedule.wait_empty()

    def retry_now(self, report_id: str | None = None) -> int:
        """Make one (or every) pending report due immediately; return how many. Reports put
        into the outbox meanwhile (`errors requeue`) are taken up first."""
        self.gate.lift()
        self._adopt(self.outbox.entries(exclude=self._items.keys()))
        if report_id is None:
            return self.schedule.all_due()
        item = self._items.get(report_id)
        if item is None:
            return 0
        self.schedule.schedule(item)
        return 1

    # -- sending from the outbox -------------------------------------------------------------

    async def run(self) -> None:
        """Deliver handed-over reports, send pending ones (one sender per client connection)
        and probe while paused, for ever (cancel to stop: all of it stops with it)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._handoff.run())
            group.create_task(self.gate.run())
            for _ in range(self.client.max_connections):
                group.create_task(self._sender())

    def stop_sending(self) -> None:
        """Start no new send from the outbox (a stop): those in flight finish, the rest wait
        for the next start. Reports handed over directly are still delivered."""
        self._stopping = True
        self.schedule.wake.set()

    async def wait_sends_done(self) -> None:
        """Until no send from the outbox is in flight."""
        await self._quiet.wait()

    async def _sender(self) -> None:
        while True:
            item, probe = await self._next_due()
            self._sending += 1
            self._quiet.clear()
            try:
                await self._send(item, probe)
            except Exception:  # a sender must survive anything; the report stays pending
                log.exception(
                    "unexpected error sending report %s; it stays pending", item.report_id
                )
                self.schedule.backoff(item, None)
            finally:
                self.gate.end_send(probe)
                self.schedule.sent(item)
                self._sending -= 1
                if not self._sending:
                    self._quiet.set()

    async def _next_due(self) -> tuple[PendingReport, bool]:
        while True:
            self.schedule.wake.clear()
            if self._stopping or self.gate.blocked():
                await self.schedule.wait_woken(None)
                continue
            item, wait = self.schedule.pick(self.gate.held_until)
            if item is not None:
                return item, self.gate.begin_send()
            await self.schedule.wait_woken(wait)

    async def _send(self, item: PendingReport, probe: bool) -> None:
        # a report is never re-spooled while it is being sent or its file removed
        async with self._ids.hold([item.report_id]):
            if self._too_old(item):
                await self._reject(
                    item,
                    ReportRejected(
                        f"not accepted within retry.max_age_s ({self.retry.max_age_s:g} s)",
                        status=0,
                    ),
                )
                return
            generation = item.generation
            try:
                body = await self.outbox.read(item.report_id)
            except FileNotFoundError:
                log.warning("pending report %s vanished from %s", item.report_id, self.folder)
                await self.outbox.remove(item.report_id)
                self.schedule.forget(item)
                return
            except OSError as exc:
                log.warning("cannot read pending report %s (%s); will retry", item.path, exc)
                self.schedule.backoff(item, None)
                return
            await self._act_on(item, await self._attempt(item.report_id, body), generation)

    def _too_old(self, item: PendingReport) -> bool:
        max_age = self.retry.max_age_s
        return max_age is not None and self._wall() - item.first_seen > max_age

    async def _act_on(self, item: PendingReport, attempt: Attempt, generation: int) -> None:
        if attempt.outcome is Outcome.ACCEPTED:
            await self._delivered(item, generation)
        elif attempt.outcome is Outcome.REJECTED:
            assert isinstance(attempt.error, ReportRejected)
            await self._reject(item, attempt.error)
        elif attempt.outcome is Outcome.UNAVAILABLE:
            assert isinstance(attempt.error, ServerUnavailable)
            item.attempts += 1
            await self.outbox.note_attempts(item.entry(self.error_folder))
            self.schedule.backoff(item, attempt.error.retry_after_s, counted=True)
        else:
            self.schedule.schedule(item)  # sent again once the pause is over

    async def _delivered(self, item: PendingReport, generation: int) -> None:
        if item.generation != generation:  # re-spooled during the send: send the new body too
            self.schedule.schedule(item)
            return
        await self.outbox.remove(item.report_id)
        self.schedule.forget(item)
        log.info(
            "submitted report %s%s",
            item.report_id,
            f" ({item.source})" if item.source else "",
            extra=item.log_fields(FileOutcome.SUBMITTED),
        )

    async def _reject(self, item: PendingReport, exc: ReportRejected) -> None:
        """File a report the server refused in its error folder (`rejection`); if that
        cannot be done now, it stays pending and is tried again after a backoff."""
        self.stats.rejected += 1
        self.stats.last_error = f"report {item.report_id} rejected: {exc}"
        if await file_rejected(self.outbox, item, exc) is None:
            self.schedule.backoff(item, None)
            return
        self.schedule.forget(item)
