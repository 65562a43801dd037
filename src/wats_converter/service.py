"""The composition root: builds every component from the config and runs them together.

Startup order: lock the data folder, recover pending reports, arm the file watcher, scan every
watch folder (oldest first), then convert and submit until stopped. Nothing else in the package
constructs components.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wats_converter import systemd
from wats_converter.admin import RETRY_REQUEST, count_error_files
from wats_converter.config import EMBEDDED, Config, ensure_folders
from wats_converter.converters.registry import (
    ConverterSlot,
    build_slots,
    folder_patterns,
    watch_summary,
)
from wats_converter.embedded import (
    ADDRESS_FILE,
    EmbeddedAddress,
    choose_token,
    load_address,
    save_address,
    start_embedded,
)
from wats_converter.errors import ConfigError
from wats_converter.health import HealthServer
from wats_converter.pipeline.delivery import Delivery
from wats_converter.pipeline.post_process import PostProcessor
from wats_converter.pipeline.runners import Runner, choose_runner
from wats_converter.pipeline.scanner import DirMemo, ScanStats, Unmatched, output_folders, scan
from wats_converter.pipeline.watcher import FileWatcher
from wats_converter.pipeline.work_queue import WorkQueue
from wats_converter.pipeline.worker_pool import WorkerPool
from wats_converter.server.app import LocalServer
from wats_converter.server.store import ReportStore
from wats_converter.stats import ServiceStats
from wats_converter.storage.durable import TMP_SUFFIX, temp_path
from wats_converter.storage.instance_lock import InstanceLock, WatchFolderClaims
from wats_converter.storage.journal import Journal
from wats_converter.wats_client import WatsClient

log = logging.getLogger(__name__)
STATUS_FILE = "status.json"
JOURNAL_FILE = "journal.sqlite"
STATUS_INTERVAL_S = 1.0
WATCHER_ARM_S = 0.3
SCAN_OFFER_CHUNK = 500
FULL_SCAN_EVERY = 10  # periodic scans; the others skip folders whose entries did not change
SCAN_SHARE = 20  # the wait after a periodic scan is at least this many times its duration
EMBEDDED_PORT = 8080


@dataclass(frozen=True)
class RunResult:
    converted: int
    failed: int
    pending: int
    unmatched: int = 0
    """Files no converter claims, left in place or moved to error/ (then also in `failed`)."""

    @property
    def exit_code(self) -> int:
        return 0 if self.failed == 0 and self.pending == 0 else 1


class Service:
    """One running wats-converter: build with `Service(config)`, then `await run()`."""

    def __init__(
        self,
        config: Config,
        *,
        embedded_port: int = EMBEDDED_PORT,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.config = config
        self.embedded_port = embedded_port
        self.on_progress = on_progress
        self.stats = ServiceStats()
        self.slots: list[ConverterSlot] = build_slots(config)
        if not self.slots:
            raise ConfigError("no converter is enabled: nothing to watch")
        self.embedded: LocalServer | None = None
        self.server_url = config.server.url
        self.health_url = ""
        self._stop = asyncio.Event()
        self._rescan = asyncio.Event()
        self._folders = DirMemo()
        self._full_scan = True  # the next scan lists every folder, changed or not
        self._unmatched: dict[str, Unmatched] = {}  # path -> where; each logged once

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    async def run(self, *, once: bool = False, once_timeout_s: float = 120.0) -> RunResult:
        """Run until `stop()` (or, with `once`, until everything present is converted and sent)."""
        for folder in ensure_folders(self.config):
            log.info("created watch folder %s (it did not exist)", folder)
        with InstanceLock(self.state_dir):
            claims = WatchFolderClaims([s.entry.watch_folder for s in self.slots])
            for warning in claims.claim():
                log.warning("%s", warning)
            try:
                return await self._run_locked(once, once_timeout_s)
            finally:
                claims.release()

    def stop(self) -> None:
        self._stop.set()

    async def _run_locked(self, once: bool, once_timeout_s: float) -> RunResult:
        token = self.config.server.resolved_token()
        if self.server_url == EMBEDDED:
            saved = load_address(self.state_dir)  # the same page and token as the last start
            token = choose_token(token, saved)
            self.embedded = LocalServer(ReportStore(self.state_dir / "server.sqlite"), token=token)
            self.server_url = await start_embedded(self.embedded, saved, self.embedded_port)
            save_address(self.state_dir, EmbeddedAddress(self.embedded.port, token))
        client = WatsClient(
            self.server_url,
            token,
            connect_timeout_s=self.config.server.connect_timeout_s,
            timeout_s=self.config.server.timeout_s,
            verify_tls=self.config.server.verify_tls,
            max_connections=self.config.server.max_concurrent,
        )
        journal = Journal(self.state_dir / JOURNAL_FILE)
        runner = choose_runner(self.config, self.slots)
        try:
            return await self._run_components(client, journal, runner, once, once_timeout_s)
        finally:
            runner.close()
            await client.aclose()
            journal.close()
            if self.embedded is not None:
                await self.embedded.stop()
                self.embedded.store.close()

    async def _run_components(
        self,
        client: WatsClient,
        journal: Journal,
        runner: Runner,
        once: bool,
        once_timeout_s: float,
    ) -> RunResult:
        cfg = self.config
        pending = Delivery(
            cfg.pending_folder,
            client,
            retry=cfg.retry,
            error_folder=cfg.error_folder,
            stats=self.stats,
        )
        queue = WorkQueue()
        pool = WorkerPool(
            cfg,
            self.slots,
            queue,
            runner,
            pending,
            PostProcessor(journal, cfg.archive_folder),
            journal,
            self.stats,
        )
        recovered = pending.recover()
        self._remove_stale_temps()
        watcher = FileWatcher(
            [s.entry.watch_folder for s in self.slots],
            lambda paths: self._on_paths(pool, paths),
            on_error=self._watcher_failed,
        )
        self._announce(recovered)
        health = await self._start_health(queue, pending)
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(watcher.run()),
                group.create_task(pending.run()),
                group.create_task(self._write_status(queue, pending, journal)),
            ]
            await asyncio.sleep(WATCHER_ARM_S)  # let the watcher arm before the first scan
            total = (await self._scan(pool, journal, startup=True)).queued
            tasks.append(group.create_task(pool.run()))
            systemd.notify("READY=1")
            tasks.append(group.create_task(self._scan_loop(pool, journal)))
            if once:
                await self._until_done(queue, pool, pending, total, once_timeout_s)
            else:
                await self._stop.wait()
            systemd.notify("STOPPING=1")
            tasks[0].cancel()  # the watcher and the scans: no new files
            tasks[-1].cancel()
            await self._drain(queue, pending)
            for task in tasks:
                task.cancel()
        if health is not None:
            await health.stop()
        self._write_status_now(queue, pending)
        converted = sum(c.converted for c in self.stats.converters.values())
        failed = sum(c.failed for c in self.stats.converters.values()) + self.stats.rejected
        moved = self.stats.unmatched_to_error
        return RunResult(converted, failed + moved, len(pending), len(self._unmatched) + moved)

    async def _drain(self, queue: WorkQueue, pending: Delivery) -> None:
        """A clean stop finishes what is in work (a report the server is answering is not cut
        off before its source is post-processed), for at most `shutdown_grace_s`."""
        queue.close()
        pending.stop_sending()
        grace = self.config.shutdown_grace_s
        if queue.in_work():
            log.info("stopping: finishing %d files in work (at most %g s)", queue.in_work(), grace)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await queue.wait_idle()
                await pending.wait_sends_done()
        if queue.in_work():
            log.warning(
                "stopping: %d files still in work after %g s are cancelled; they stay in their "
                "folders and are converted again by the next start",
                queue.in_work(),
                grace,
            )
        log.info(
            "stopping: %d files queued and %d reports pending stay safe for the next start",
            queue.qsize(),
            len(pending),
        )

    def _watcher_failed(self) -> None:
        self._full_scan = True  # events may be lost: look at every file again, now
        self._rescan.set()

    def _on_paths(self, pool: WorkerPool, paths: list[Path]) -> None:
        # our own done/ or error/ inside a recursive watch folder: its files are outputs
        watched = {s.entry.watch_folder for s in self.slots}
        own = {f for f in self._output_folders() if watched.intersection(f.parents)}
        for path in paths:
            if not own or not own.intersection(path.parents):
                pool.offer(path, self.config.settle_s)

    async def _scan(
        self, pool: WorkerPool, journal: Journal, *, startup: bool = False
    ) -> ScanStats:
        stats = ScanStats()
        started = time.monotonic()
        exclude = self._output_folders()
        # listing 100,000 files takes seconds: in a thread, so workers and senders keep going
        full = self._full_scan or self.stats.scans % FULL_SCAN_EVERY == 0
        self._full_scan = False  # a watcher failure during this scan asks for another
        strays: dict[str, Unmatched] = {}
        candidates = await asyncio.to_thread(
            scan, self.slots, exclude, stats, self._folders, full=full, unmatched=strays
        )
        await self._unmatched_files(pool, strays, full)
        for n, candidate in enumerate(candidates, 1):
            if candidate.slot.keeps and journal.is_kept(
                candidate.path, (candidate.size, candidate.mtime_ns)
            ):
                stats.skipped += 1
            elif pool.offer(candidate.path, slot=candidate.slot):
                stats.queued += 1
            if n % SCAN_OFFER_CHUNK == 0:
                await asyncio.sleep(0)  # let the workers in between chunks
        self.stats.scans += 1
        stats.seconds = time.monotonic() - started
        level = logging.INFO if startup or stats.queued else logging.DEBUG
        log.log(
            level,
            "%s scan in %.2f s: scanned=%d queued=%d skipped=%d errors=%d unmatched=%d "
            "unchanged_folders=%d",
            "startup" if startup else "periodic",
            stats.seconds,
            stats.scanned,
            stats.queued,
            stats.skipped,
            stats.errors,
            len(self._unmatched),
            stats.unchanged_folders,
        )
        return stats

    async def _unmatched_files(
        self, pool: WorkerPool, found: dict[str, Unmatched], full: bool
    ) -> None:
        """Files no converter claims are never silent: each is logged once, counted, and with
        `unmatched: error` moved to the error folder."""
        # a partial scan lists changed folders only: what it did not list is still there
        current = dict(found) if full else {**self._unmatched, **found}
        for key, stray in found.items():
            if key in self._unmatched:
                continue
            if stray.slot.entry.unmatched == "error":
                # as for a claimed file: one younger than settle_s may still be written
                young = _age_s(stray.path) < self.config.settle_s
                if young or await pool.reject_unmatched(stray.path, stray.slot):
                    del current[key]  # moved, or looked at again by the next scan
                continue
            log.warning(
                "%s: no converter claims this file (%s takes %s); it stays where it is",
                stray.path,
                stray.slot.entry.watch_folder,
                folder_patterns(self.slots, stray.slot.entry.watch_folder),
            )
        self._unmatched = current
        self.stats.unmatched = sorted(str(u.path) for u in current.values())

    async def _scan_loop(self, pool: WorkerPool, journal: Journal) -> None:
        # a second look shortly after start covers files that arrived while the watcher armed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._rescan.wait(), 2.0)
        while True:
            self._rescan.clear()
            took = (await self._scan(pool, journal)).seconds
            # a scan of a huge backlog takes seconds: scanning stays a small share of the time
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._rescan.wait(), max(self.config.scan_interval_s, SCAN_SHARE * took)
                )

    async def _until_done(
        self,
        queue: WorkQueue,
        pool: WorkerPool,
        pending: Delivery,
        total: int,
        timeout_s: float,
    ) -> None:
        # files their writer has not finished (RetryLater) stay for the next run
        while not queue.only(pool.unfinished):
            self._progress(total, queue)
            await asyncio.sleep(0.05)
        self._progress(total, queue)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pending.wait_empty(), timeout_s)
        if len(pending):
            log.error(
                "%d reports could not be delivered within %g s; they stay in %s and are sent "
                "by the next run",
                len(pending),
                timeout_s,
                self.config.pending_folder,
            )

    def _progress(self, total: int, queue: WorkQueue) -> None:
        if self.on_progress is not None:
            self.on_progress(max(0, total - queue.qsize() - queue.in_work()), total)

    def _output_folders(self) -> set[Path]:
        return output_folders(self.config)

    def _remove_stale_temps(self) -> None:
        """Temp files of an interrupted write in our own folders (never in watch folders)."""
        for folder in self._output_folders():
            for tmp in folder.glob(f".*{TMP_SUFFIX}"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    log.info("removed %s left by an interrupted write", tmp)

    def _announce(self, recovered: int) -> None:
        log.info(
            "watching with %d converters (%s); sending to %s",
            len(self.slots),
            "; ".join(watch_summary(self.slots)),
            self.server_url,
        )
        if self.embedded is not None:
            log.info(
                "embedded local WATS server: reports page %s/ (sign in with any user name and "
                "the token in %s as the password)",
                self.server_url,
                self.state_dir / ADDRESS_FILE,
            )
        if recovered:
            log.info("%d reports from an earlier run are pending and will be sent", recovered)

    async def _write_status(self, queue: WorkQueue, pending: Delivery, journal: Journal) -> None:
        watchdog_s = systemd.watchdog_interval_s()
        pinged = 0.0
        while True:
            try:
                journal.flush()  # lazily cleared attempts reach the disk within a second
                self._take_retry_request(pending)
                if watchdog_s is not None and time.monotonic() - pinged >= watchdog_s:
                    systemd.notify("WATCHDOG=1")
                    pinged = time.monotonic()
                # the snapshot on the loop, only the writing in a thread
                await asyncio.to_thread(self._write_status_file, self._snapshot(queue, pending))
            except Exception:  # status is a report on the service, never a reason to stop it
                log.exception("cannot write the status file; trying again")
            await asyncio.sleep(STATUS_INTERVAL_S)

    def _snapshot(self, queue: WorkQueue, pending: Delivery) -> dict[str, Any]:
        return {
            **self.stats.snapshot(),
            "pid": os.getpid(),
            "updated_at": time.time(),
            "server_url": self.server_url,
            "health_url": self.health_url,
            "queued": queue.qsize(),
            "in_work": queue.in_work(),
            "pending": len(pending),
            "pending_oldest_age_s": pending.oldest_age_s(),
            "paused": pending.paused,
        }

    async def _start_health(self, queue: WorkQueue, pending: Delivery) -> HealthServer | None:
        cfg = self.config.health
        if not cfg.enabled:
            return None
        health = HealthServer(
            lambda: self._snapshot(queue, pending),
            cfg.ready_max_pending,
            error_files=lambda: count_error_files(self.config),
        )
        try:
            self.health_url = await health.start(cfg.host, cfg.port)
        except OSError:
            if self.config.server.url != EMBEDDED:
                raise  # a configured port that is taken is the operator's to fix
            self.health_url = await health.start(cfg.host, 0)  # zero-config: any free port
        log.info("health and metrics at %s/health, /ready, /metrics", self.health_url)
        return health

    def _take_retry_request(self, pending: Delivery) -> None:
        request = self.state_dir / RETRY_REQUEST
        try:
            target = request.read_text().strip()
            request.unlink()
        except OSError:
            return
        count = pending.retry_now(None if target in ("", "*") else target)
        log.info("retrying %d pending reports now, as requested", count)

    def _write_status_now(self, queue: WorkQueue, pending: Delivery) -> None:
        self._write_status_file(self._snapshot(queue, pending))

    def _write_status_file(self, status: dict[str, Any]) -> None:
        """Write a snapshot (taken on the event loop: only the loop may read the queues, which
        it changes while a thread would iterate them)."""
        path = self.state_dir / STATUS_FILE
        tmp = temp_path(path.parent, STATUS_FILE)
        try:
            tmp.write_text(json.dumps(status, indent=1))
            os.replace(tmp, path)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0
