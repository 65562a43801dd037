"""The composition root: builds every component from the config and runs them together.

Startup order: lock the data folder, recover pending reports, arm the file watcher, scan every
watch folder (oldest first), then convert and submit until stopped. A stop takes no new files,
lets the work in flight finish (at most `shutdown_grace_s`) and cancels the rest. Everything
started is stopped by one exit stack, whatever happens; nothing else in the package constructs
components.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wats_converter import systemd
from wats_converter.config import EMBEDDED, Config, ensure_folders
from wats_converter.converters.registry import ConverterSlot, build_slots, watch_summary
from wats_converter.embedded import RunningEmbedded, open_embedded
from wats_converter.errors import ConfigError
from wats_converter.health import open_health
from wats_converter.heartbeat import Heartbeat
from wats_converter.pipeline.delivery import Delivery
from wats_converter.pipeline.error_folder import count_error_files
from wats_converter.pipeline.post_process import PostProcessor
from wats_converter.pipeline.runners import choose_runner
from wats_converter.pipeline.scanner import Scanner, output_folders
from wats_converter.pipeline.watcher import FileWatcher
from wats_converter.pipeline.work_queue import WorkQueue
from wats_converter.pipeline.worker_pool import WorkerPool
from wats_converter.stats import RunResult, ServiceStats
from wats_converter.status import Queues, Status
from wats_converter.storage.durable import remove_stale_temps
from wats_converter.storage.instance_lock import InstanceLock, WatchFolderClaims
from wats_converter.storage.journal import Journal
from wats_converter.wats_client import WatsClient

if TYPE_CHECKING:
    from wats_converter.cluster.node import ClusterNode

log = logging.getLogger(__name__)
JOURNAL_FILE = "journal.sqlite"
WATCHER_ARM_S = 0.3
EMBEDDED_PORT = 8080


@dataclass(frozen=True)
class Parts:
    """The running components, in flow order."""

    watcher: FileWatcher
    scanner: Scanner
    queue: WorkQueue
    pool: WorkerPool
    delivery: Delivery
    heartbeat: Heartbeat
    node: ClusterNode | None = None
    """Cluster mode (a `cluster:` section): this node's part in the cluster."""


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
        self.embedded: RunningEmbedded | None = None
        self.server_url = config.server.url
        self.health_url = ""
        self._stop = asyncio.Event()
        self.node: ClusterNode | None = None

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    def stop(self) -> None:
        self._stop.set()

    async def run(self, *, once: bool = False, once_timeout_s: float = 120.0) -> RunResult:
        """Run until `stop()` (or, with `once`, until everything present is converted and sent)."""
        if once and self.config.cluster is not None:
            raise ConfigError("run --once is for one machine: a cluster's backlog is shared")
        for folder in ensure_folders(self.config):
            log.info("created watch folder %s (it did not exist)", folder)
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(InstanceLock(self.state_dir))
            # cluster nodes share their watch folders by design
            shared = self.config.cluster is not None
            claims = WatchFolderClaims([] if shared else [s.entry.watch_folder for s in self.slots])
            for warning in claims.claim():
                log.warning("%s", warning)
            stack.callback(claims.release)
            parts = await self._build(stack)
            await self._run(parts, once, once_timeout_s)
        return RunResult.tally(
            self.stats, pending=len(parts.delivery), unmatched=parts.scanner.unmatched
        )

    async def _build(self, stack: contextlib.AsyncExitStack) -> Parts:
        """Every component, each one's stop pushed on `stack` as it starts."""
        cfg = self.config
        client = await self._client(stack)
        journal = Journal(self.state_dir / JOURNAL_FILE)
        stack.callback(journal.close)
        runner = choose_runner(cfg, self.slots)
        stack.callback(runner.close)
        node: ClusterNode | None = None
        if cfg.cluster is None:  # one machine
            remove_stale_temps(output_folders(cfg))  # a cluster node sweeps only old temps
            queue = WorkQueue()
            delivery = Delivery(
                cfg.pending_folder,
                client,
                retry=cfg.retry,
                error_folder=cfg.error_folder,
                stats=self.stats,
            )
            post = PostProcessor(journal, cfg.archive_folder)
        else:  # cluster mode: the cluster's queue, pending folder and post-processing claims
            node = self.node = await self._join(stack)
            queue, delivery, post = node.stages(client, journal, self.stats)
        pool = WorkerPool(cfg, self.slots, queue, runner, delivery, post)
        scanner = Scanner(cfg, self.slots, pool, journal, self.stats)
        watcher = FileWatcher(
            [s.entry.watch_folder for s in self.slots],
            scanner.offer_hints,
            on_error=scanner.watcher_failed,
        )
        self._announce(delivery.recover())
        self.health_url = await open_health(
            stack,
            cfg.health,
            lambda: self._status(queue, delivery),
            lambda: count_error_files(cfg),
            any_port=cfg.server.url == EMBEDDED,
        )
        heartbeat = self._heartbeat(queue, delivery, journal)
        stack.callback(heartbeat.write_now)
        return Parts(watcher, scanner, queue, pool, delivery, heartbeat, node)

    async def _join(self, stack: contextlib.AsyncExitStack) -> ClusterNode:
        from wats_converter.cluster.node import ClusterNode  # NATS only in cluster mode

        node = await ClusterNode.start(self.config, self.slots)
        stack.push_async_callback(node.close)
        return node

    async def _client(self, stack: contextlib.AsyncExitStack) -> WatsClient:
        """The WATS client; with `url: embedded`, the local server it talks to first."""
        server = self.config.server
        token = server.resolved_token()
        if self.server_url == EMBEDDED:
            self.embedded = await open_embedded(stack, self.state_dir, token, self.embedded_port)
            self.server_url, token = self.embedded.url, self.embedded.token
        client = WatsClient(
            self.server_url,
            token,
            connect_timeout_s=server.connect_timeout_s,
            timeout_s=server.timeout_s,
            verify_tls=server.verify_tls,
            max_connections=server.max_concurrent,
        )
        stack.push_async_callback(client.aclose)
        return client

    def _heartbeat(self, queue: WorkQueue, delivery: Delivery, journal: Journal) -> Heartbeat:
        return Heartbeat(
            self.state_dir,
            lambda: self._status(queue, delivery),
            flush=journal.flush,
            retry_now=delivery.retry_now,
        )

    async def _run(self, parts: Parts, once: bool, once_timeout_s: float) -> None:
        async with asyncio.TaskGroup() as group:
            intake = [group.create_task(parts.watcher.run())]
            others = [
                group.create_task(parts.delivery.run()),
                group.create_task(parts.heartbeat.run()),
            ]
            if parts.node is not None:
                status = lambda: self._status(parts.queue, parts.delivery)  # noqa: E731
                others.append(group.create_task(parts.node.run(parts.delivery, status)))
            await asyncio.sleep(WATCHER_ARM_S)  # let the watcher arm before the first scan
            total = (await parts.scanner.scan(startup=True)).queued
            others.append(group.create_task(parts.pool.run()))
            systemd.notify("READY=1")
            intake.append(group.create_task(parts.scanner.run()))
            if once:
                await self._until_done(parts, total, once_timeout_s)
            else:
                await self._stop.wait()
            systemd.notify("STOPPING=1")
            for task in intake:
                task.cancel()  # no new files
            await self._drain(parts.queue, parts.delivery)
            for task in others:
                task.cancel()

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

    async def _until_done(self, parts: Parts, total: int, timeout_s: float) -> None:
        # files their writer has not finished (RetryLater) stay for the next run
        queue, pending = parts.queue, parts.delivery
        while not queue.only(parts.pool.unfinished):
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

    def _status(self, queue: WorkQueue, pending: Delivery) -> Status:
        queues = Queues(
            queued=queue.qsize(),
            in_work=queue.in_work(),
            pending=len(pending),
            pending_oldest_age_s=pending.oldest_age_s(),
            paused=pending.paused,
        )
        return Status.capture(
            self.stats,
            queues,
            server_url=self.server_url,
            health_url=self.health_url,
            cluster=None if self.node is None else self.node.snapshot(),
        )

    def _announce(self, recovered: int) -> None:
        log.info(
            "watching with %d converters (%s); sending to %s",
            len(self.slots),
            "; ".join(watch_summary(self.slots)),
            self.server_url,
        )
        if recovered:
            log.info("%d reports from an earlier run are pending and will be sent", recovered)
