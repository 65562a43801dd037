"""WorkerPool: `max_workers` workers take files from the WorkQueue and see each
through: ready? -> convert -> deliver (to the server, or durably to pending/) -> post-process
(or error folder).

`_process` tells the whole story of one file; every branch ends in exactly one place: queued
again for later, kept in place (journal), post-processed, or quarantined with a `.error` file.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wats_converter.config import Config
from wats_converter.converters.api import RetryLater, SkipFile
from wats_converter.converters.registry import ConverterSlot, route
from wats_converter.errors import (
    ConversionTimedOut,
    FileIncomplete,
    FileTooLarge,
    StorageError,
    WorkerCrashed,
)
from wats_converter.failpoints import failpoint
from wats_converter.logs import FileOutcome, file_fields
from wats_converter.pipeline.attempt_starts import AttemptStarts
from wats_converter.pipeline.delivery import Delivery, Origin
from wats_converter.pipeline.failure_filing import FailureFiling, exhausted
from wats_converter.pipeline.isolation_gate import IsolationGate
from wats_converter.pipeline.post_process import PostProcessor
from wats_converter.pipeline.readiness import DiskSpace, Settling
from wats_converter.pipeline.runners import Converted, Runner
from wats_converter.pipeline.work_queue import WorkItem, WorkQueue
from wats_converter.storage.durable import is_storage_error
from wats_converter.storage.identity import (
    FileIdentity,
    SourceReplaced,
    held_open_for_writing,
    identity_of,
)

log = logging.getLogger(__name__)
YOUNG_FILE_S = 10.0  # a failing file modified this recently may still be being written
LOCKED_RETRY_S = 5.0
WRITER_RETRY_S = 1.0  # a file another process still writes is looked at again this soon
STORAGE_RETRY_S = 5.0


class WorkerPool:
    """Converts queued files with bounded concurrency; owns no state that must survive a crash."""

    def __init__(
        self,
        config: Config,
        slots: Sequence[ConverterSlot],
        queue: WorkQueue,
        runner: Runner,
        pending: Delivery,
        post_processor: PostProcessor,
    ) -> None:
        """`post_processor`'s journal counts the attempts and keeps what stays in place;
        `pending`'s stats are the service's counters, the pool's too."""
        self.config = config
        self.slots = list(slots)
        self._unfinished: set[Path] = set()
        self.queue = queue
        # decisions run on the queue's clock, the one it schedules by (settle times, delays, the
        # disk-space cadence); file ages compare mtimes with the wall clock, durations are real
        self.clock = queue.clock
        self.runner = runner
        self.pending = pending
        self.post = post_processor
        self.journal = post_processor.journal
        self.starts = AttemptStarts(self.journal)  # committed in groups, before converting
        self.stats = pending.stats
        self.failures = FailureFiling(post_processor, self.stats, config.error_folder)
        self.settling = Settling(self.clock, config.settle_s)
        self.space = DiskSpace(self.clock, config.pending_folder, config.min_free_bytes, self.stats)
        self._delivered: dict[Path, FileIdentity] = {}  # reports safe, post-processing failed
        self._last_crash: dict[Path, ConversionTimedOut | WorkerCrashed] = {}
        self.gate = IsolationGate()

    def offer(self, path: Path, delay_s: float = 0.0, slot: ConverterSlot | None = None) -> bool:
        """A hint that `path` may be new or changed; queue it if a converter claims it (`slot`:
        the one a scan already found)."""
        slot = slot or route(self.slots, path)
        if slot is None:
            return False
        queued = self.queue.put_nowait(path, slot, delay_s)
        if queued:
            self.stats.counts(slot.name).discovered += 1
        return queued

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for _ in range(self.config.max_workers):
                group.create_task(self._worker())

    async def _worker(self) -> None:
        while True:
            item = await self.queue.get()
            handed_over = False
            try:
                handed_over = await self._process(item)
            except Exception:  # a worker must survive anything; the file stays for a retry
                log.exception("unexpected error processing %s; it will be retried", item.path)
                self._later(item, LOCKED_RETRY_S)
            finally:
                if not handed_over:  # otherwise it stays in work until it is post-processed
                    self.queue.done(item.path)

    async def _process(self, item: WorkItem) -> bool:
        """One file's story: ready? -> convert -> deliver -> post-process (or later, or error/).
        True if its reports were handed to delivery (the rest of the story follows there)."""
        failpoint("after_detect")
        key = await self._ready(item)
        if key is None:
            return False
        started = time.monotonic()
        converted = await self._convert(item, key)
        if converted is None:
            return False
        if identity_of(item.path) != key:
            log.info("%s changed while it was converted; converting it again", item.path)
            self._later(item, self.config.settle_s)
            return False
        origin = Origin(str(item.path), item.slot.name, self.failures.error_folder(item.slot))
        handed = HandedOver(item, key, converted, time.monotonic() - started)
        # the worker converts the next file; delivery's task finishes this one (`_finish`)
        await self.pending.hand_over(
            converted.reports,
            origin,
            then=lambda acknowledged: self._finish(handed, acknowledged),
            dropped=lambda: self.queue.done(item.path),  # a stop: it stays for the next start
        )
        return True

    async def _finish(self, handed: HandedOver, acknowledged: Awaitable[int]) -> None:
        """The rest of a handed-over file's story, in delivery's task: post-processing once its
        reports are acknowledged."""
        try:
            await self._deliver(handed, acknowledged)
        except Exception:  # as in a worker: the file stays for a retry
            log.exception("unexpected error finishing %s; it will be retried", handed.item.path)
            self._later(handed.item, LOCKED_RETRY_S)
        finally:
            self.queue.done(handed.item.path)

    async def _ready(self, item: WorkItem) -> FileIdentity | None:
        """The file's identity if it should be converted now; otherwise None (it is done
        with, or queued again for later)."""
        path = item.path
        key = identity_of(path)
        if key is None:
            self.settling.forget(path)
            # gone (deleted or renamed by someone else), or not a regular file (a symlink is
            # never followed: it could point at any file the service may read)
            return None
        if self._delivered.get(path) == key:
            await self._post_process(item, key)  # reports are safe; only the source is left
            return None
        if self.journal.is_kept(path, key.key):
            return None  # kept by KEEP, or skipped by its converter: never again until it changes
        if not self._settled(item, key):
            return None
        if item.slot.shared_with:
            # the converter was chosen by the file's first bytes when it was queued; a file
            # created empty and then written (or replaced) may now be another converter's
            chosen = route(self.slots, path)
            if chosen is None:
                return None  # no converter recognises it now: the scan reports it
            item.slot = chosen
        if not item.slot.converter.detects_unfinished_files and held_open_for_writing(path):
            log.debug("%s is still open for writing by another process; waiting", path)
            self._later(item, max(self.config.settle_s, WRITER_RETRY_S))
            return None
        if not self.space.enough():
            self._later(item, STORAGE_RETRY_S)
            return None
        previous = self.journal.attempts(path)
        if previous >= self.config.retry.conversion_attempts:
            await self._fail(item, exhausted(previous, self._last_crash.pop(path, None)), previous)
            return None
        return key

    def _settled(self, item: WorkItem, key: FileIdentity) -> bool:
        """Whether the file has settled (readiness.Settling); otherwise it is queued again
        for when it may have."""
        wait = self.settling.wait_s(item.path, key)
        if wait:
            self._later(item, wait)
        return not wait

    async def _convert(self, item: WorkItem, key: FileIdentity) -> Converted | None:
        """Run the converter; on any outcome but success, route the file and return None."""
        path, slot = item.path, item.slot
        previous = self.journal.attempts(path)
        attempts = previous + 1
        try:
            # a file that was in work when a conversion crashed or hung is converted alone, so
            # the next crash points at the culprit, not at whatever ran beside it
            async with self.gate.alone() if previous else self.gate.shared():
                attempts = await self.starts.start(path)
                converted = await self.runner.run(
                    slot.index, path, self.config.conversion_timeout_s
                )
                # the attempt covers the converter only: a crash while the report is delivered
                # or the source post-processed says nothing about this file. The clear is
                # written with the next attempt's start, i.e. before any other converter runs;
                # a suspect's at once, before the others are let in again.
                self.journal.clear_attempts(path)
                self._last_crash.pop(path, None)
                if previous:
                    self.journal.flush()
                self._unfinished.discard(path)
                return converted
        except SkipFile as signal:
            await self._skip(item, key, signal.reason)
        except RetryLater as signal:
            self.journal.clear_attempts(path)
            unchanged_s = time.time() - key.mtime_ns / 1e9
            timeout_s = slot.converter.settings.incomplete_timeout_s
            if unchanged_s >= timeout_s:
                # the tester stopped writing it: say so instead of polling it for ever
                gave_up = FileIncomplete(
                    f"still not complete {unchanged_s:.0f} s after its last change "
                    f"(incomplete_timeout_s is {timeout_s:g}): {signal.reason}"
                )
                await self._fail(item, gave_up, 1)
                return None
            log.info(
                "%s: %s asks to retry in %g s: %s", path, slot.name, signal.after_s, signal.reason
            )
            self._unfinished.add(path)
            self._later(item, signal.after_s)
            return None
        except (ConversionTimedOut, WorkerCrashed) as exc:
            self._last_crash[path] = exc
            log.warning(
                "%s: %s (attempt %d of %d)",
                path,
                exc,
                attempts,
                self.config.retry.conversion_attempts,
            )
            self._later(item, min(60.0, 2.0**attempts))
        except Exception as exc:
            self.journal.clear_attempts(path)
            await self._conversion_failed(item, key, exc)
        return None

    async def _deliver(self, handed: HandedOver, acknowledged: Awaitable[int]) -> None:
        """Once delivery acknowledged the reports (accepted by the server or durable in
        pending/), post-process the source."""
        item, key = handed.item, handed.key
        try:
            sent = await acknowledged
        except StorageError as exc:
            self.space.blocked(str(exc))
            self._later(item, STORAGE_RETRY_S)
            return
        self.stats.storage_blocked = ""
        self.stats.counts(item.slot.name).converted += 1
        self.stats.conversion_seconds.observe(handed.elapsed)
        if log.isEnabledFor(logging.INFO):  # the fields cost more than the rest of this step
            _log_converted(handed, sent)
        self._delivered[item.path] = key
        await self._post_process(item, key)

    async def _post_process(self, item: WorkItem, key: FileIdentity) -> None:
        try:
            failpoint("before_post_process")
            where = await self.post.finish(item.path, item.slot, key)
        except SourceReplaced:
            # another file took the name while this one was delivered: that one has not been
            # converted, so it is not post-processed; it is converted on its own turn
            self._delivered.pop(item.path, None)
            if identity_of(item.path) is None:
                log.debug("%s is gone after its report was delivered", item.path)
                return
            log.info(
                "%s was replaced while its report was delivered; converting the new file",
                item.path,
            )
            self._later(item, self.config.settle_s)
            return
        except OSError as exc:
            # the reports are on the server or safe in pending/: only the source waits, and it
            # is not converted again
            log.error(
                "%s: post-processing (%s) failed: %s; retrying in %g s",
                item.path,
                item.slot.entry.post_process_action,
                exc,
                STORAGE_RETRY_S,
            )
            self.stats.last_error = f"post-processing {item.path.name}: {exc}"
            self._later(item, STORAGE_RETRY_S)
            return
        self._delivered.pop(item.path, None)
        log.debug("%s %s", item.path, where)

    async def _skip(self, item: WorkItem, key: FileIdentity, reason: str) -> None:
        self.journal.clear_attempts(item.path)
        self.journal.keep(item.path, key.key, "SKIPPED", item.slot.name)
        self.stats.counts(item.slot.name).skipped += 1
        log.info(
            "%s skipped by %s: %s (left in place)",
            item.path,
            item.slot.name,
            reason,
            extra=file_fields(
                file=item.path, converter=item.slot.name, outcome=FileOutcome.SKIPPED
            ),
        )

    async def _conversion_failed(self, item: WorkItem, key: FileIdentity, exc: Exception) -> None:
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            if is_storage_error(exc) and exc.errno not in (13, 1):
                self.space.blocked(str(exc))
            log.warning(
                "%s cannot be read now (%s); retrying in %g s", item.path, exc, LOCKED_RETRY_S
            )
            self._later(item, LOCKED_RETRY_S)
            return
        if isinstance(exc, FileNotFoundError):
            return
        age = time.time() - key.mtime_ns / 1e9
        young = 0 <= age < YOUNG_FILE_S  # a future mtime (a share's skewed clock) says nothing
        if young and not isinstance(exc, FileTooLarge):
            wait = max(self.config.settle_s, YOUNG_FILE_S - age)
            log.info(
                "%s failed to convert but is only seconds old (%s); trying again in %.1f s",
                item.path,
                exc,
                wait,
            )
            self._later(item, wait)
            return
        await self._fail(item, exc, 1)

    async def _fail(self, item: WorkItem, exc: Exception, attempts: int) -> None:
        if not await self.failures.fail(item.path, item.slot, exc, attempts):
            self._later(item, STORAGE_RETRY_S * 12)

    async def reject_unmatched(self, path: Path, slot: ConverterSlot) -> bool:
        """Move a file no converter claims to `slot`'s error folder (`unmatched: error`);
        False if it cannot be moved now (the next scan tries again)."""
        return await self.failures.reject_unmatched(path, slot, self.slots)

    @property
    def unfinished(self) -> set[Path]:
        """Files waiting for their writer to finish them (`RetryLater`, `is_complete`)."""
        return self._unfinished

    def _later(self, item: WorkItem, delay_s: float) -> None:
        self.queue.done(item.path)
        self.queue.put_nowait(item.path, item.slot, delay_s)


@dataclass(frozen=True, slots=True)
class HandedOver:
    """A converted file whose reports delivery has taken and will acknowledge."""

    item: WorkItem
    key: FileIdentity
    converted: Converted
    elapsed: float
    """Seconds from the start of the conversion to the hand-over."""


def _handed_over(sent: int, total: int) -> str:
    if sent == total:
        return "submitted"
    if sent == 0:
        return "waiting in pending/"
    return f"{sent} submitted, {total - sent} waiting in pending/"


def _log_converted(handed: HandedOver, sent: int) -> None:
    path, slot, ids = handed.item.path, handed.item.slot, [r for r, _ in handed.converted.reports]
    outcome = FileOutcome.SUBMITTED if sent == len(ids) else FileOutcome.PENDING
    fields = file_fields(
        file=path, converter=slot.name, report_id=ids, duration_s=handed.elapsed, outcome=outcome
    )
    log.info(
        "converted %s with %s in %.0f ms -> report %s: %s",
        path,
        slot.name,
        handed.elapsed * 1000,
        ", ".join(ids),
        _handed_over(sent, len(ids)),
        extra=fields,
    )
