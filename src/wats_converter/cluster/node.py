"""ClusterNode: this service's part in a cluster, beside the single-machine pipeline it reuses.

What differs from one machine, all here: the work queue is the cluster's (`ClusterWorkQueue`);
pending reports live in `<pending_folder>/<node>/` on the shared storage, and a live node adopts
the reports of a node that stopped beating (docs/decisions/0004-cluster-pending-reports.md);
post-processing takes a cluster-wide claim on the file's version first, so two nodes never both
move, archive, delete or file in error/ one file; every node announces itself in the nodes
bucket, which is also what `status` shows of the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats.js.errors

from wats_converter.cluster.jetstream import TRANSIENT, JetStream, connect, persist
from wats_converter.cluster.settings import NAME_RE, ClusterConfig
from wats_converter.cluster.work import ClusterWorkQueue, WorkCounts, WorkRef
from wats_converter.config import Config
from wats_converter.converters.registry import ConverterSlot
from wats_converter.pipeline.delivery import Delivery
from wats_converter.pipeline.error_folder import ErrorInfo
from wats_converter.pipeline.post_process import PostProcessor
from wats_converter.pipeline.server_gate import ServerGate
from wats_converter.stats import ServiceStats
from wats_converter.status import Status
from wats_converter.storage.durable import TMP_SUFFIX
from wats_converter.storage.identity import FileIdentity, identity_of
from wats_converter.storage.journal import Journal
from wats_converter.storage.outbox import META_SUFFIX, QUEUED_SUFFIX
from wats_converter.wats_client import WatsClient

log = logging.getLogger(__name__)
TEMP_SWEEP_S = 30.0
CLOSE_STEP_S = 5.0


class ClusterDelivery(Delivery):
    """The Delivery of one node, which can take over reports another node left behind."""

    def adopt(self) -> int:
        """Queue the reports just moved into this node's outbox; return how many are new."""
        before = len(self)
        self._adopt(self.outbox.entries(exclude=self._items.keys()))
        return len(self) - before


class ClaimingPostProcessor(PostProcessor):
    """Post-processing under a claim on the file's version in the claims bucket: of two nodes
    that reach the same file at once (a redelivery to a node while the first one still works,
    a repeat beyond the duplicate window), one acts and the other finds the file gone later."""

    def __init__(self, journal: Journal, archive_folder: Path, js: JetStream, node: str) -> None:
        super().__init__(journal, archive_folder)
        self.js = js
        self.node = node

    async def finish(self, source: Path, slot: ConverterSlot, converted: FileIdentity) -> str:
        ref = WorkRef.of(source, slot, converted)
        if ref is not None:
            await self._claim(ref.msg_id, source)
        return await super().finish(source, slot, converted)

    async def quarantine(
        self, source: Path, slot: ConverterSlot, folder: Path, info: ErrorInfo
    ) -> Path:
        # the version in place now is the one filed: two nodes failing it share its claim
        identity = identity_of(source)
        if identity is None:
            raise FileNotFoundError(source)
        ref = WorkRef.of(source, slot, identity)
        if ref is not None:
            await self._claim(ref.msg_id, source)
        return await super().quarantine(source, slot, folder, info)

    async def _claim(self, key: str, source: Path) -> None:
        try:
            await persist("claim a file", lambda: self.js.claims.create(key, self.node.encode()))
            return
        except nats.js.errors.KeyWrongLastSequenceError:
            pass
        entry = await persist("read a claim", lambda: self.js.claims.get(key))
        holder = (entry.value or b"").decode()
        if holder != self.node:  # our own claim is from before a restart of this node
            raise OSError(f"node {holder} is post-processing {source.name} right now")


class ClusterNode:
    """Connect with `await ClusterNode.start(config, slots)`; `run(delivery)` with the rest."""

    def __init__(self, config: Config, js: JetStream, slots: list[ConverterSlot]) -> None:
        assert config.cluster is not None
        self.config = config
        self.cfg: ClusterConfig = config.cluster
        self.js = js
        self.counts = WorkCounts()
        self.queue = ClusterWorkQueue(js, self.cfg, slots, self.counts)
        self.nodes: dict[str, dict[str, Any]] = {}
        self.adopted = 0
        self._started = time.time()

    @classmethod
    async def start(cls, config: Config, slots: list[ConverterSlot]) -> ClusterNode:
        assert config.cluster is not None
        log.info(
            "cluster mode: node %s joining %s",
            config.cluster.node,
            ", ".join(config.cluster.servers),
        )
        return cls(config, await connect(config.cluster), slots)

    async def close(self) -> None:
        """Leave the cluster: items in work go back to it, then the connection closes."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.queue.release(), CLOSE_STEP_S)
        # a connection still reconnecting can hold a close: the stop never waits for it long
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.js.close(), CLOSE_STEP_S)

    @property
    def pending_root(self) -> Path:
        return self.config.pending_folder

    @property
    def pending_folder(self) -> Path:
        return self.pending_root / self.cfg.node

    delivery_class = ClusterDelivery

    def post_processor(self, journal: Journal) -> PostProcessor:
        return ClaimingPostProcessor(journal, self.config.archive_folder, self.js, self.cfg.node)

    def stages(
        self, client: WatsClient, journal: Journal, stats: ServiceStats
    ) -> tuple[ClusterWorkQueue, ClusterDelivery, PostProcessor]:
        """The stages that differ from one machine's: the work queue, the delivery (from this
        node's pending folder) and the post-processor; `run` takes the delivery back."""
        delivery = self.delivery_class(
            self.pending_folder,
            client,
            retry=self.config.retry,
            error_folder=self.config.error_folder,
            stats=stats,
        )
        return self.queue, delivery, self.post_processor(journal)

    async def run(self, delivery: Delivery, status: Callable[[], Status]) -> None:
        """Work, beat, adopt and sweep until cancelled; `status()`: this node's snapshot."""
        assert isinstance(delivery, ClusterDelivery)  # built from `delivery_class`
        async with asyncio.TaskGroup() as group:
            group.create_task(self.queue.run())
            group.create_task(self._beat(delivery, status))
            group.create_task(self._sweep_temps())

    # -- membership --------------------------------------------------------------------------

    async def _beat(self, delivery: ClusterDelivery, status: Callable[[], Status]) -> None:
        while True:
            try:
                await self._announce(status(), delivery.gate)
                await self._read_nodes()
                self._follow_outages(delivery.gate)
                await self._adopt_orphans(delivery)
            except TRANSIENT as exc:
                log.debug("cluster heartbeat skipped: %s", type(exc).__name__)
            except Exception:  # membership is bookkeeping: it never stops the node
                log.exception("cluster heartbeat failed; trying again")
            await asyncio.sleep(self.cfg.heartbeat_s)

    async def _announce(self, status: Status, gate: ServerGate) -> None:
        beat = {
            # this node's own outage backoff (not one it follows): the others hold off too
            "outage_for_s": max(0.0, gate.held_until - gate.clock.now()) if gate.in_outage else 0,
            "node": self.cfg.node,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": self._started,
            "updated_at": time.time(),
            "in_flight": self.queue.in_work(),
            "pending": status.pending,
            "paused": status.paused,
            "submitted": status.submitted,
            "converted": sum(c.converted for c in status.converters.values()),
            "acked": self.counts.acked,
        }
        await self.js.nodes.put(self.cfg.node, json.dumps(beat).encode())

    async def _read_nodes(self) -> None:
        """The live nodes: every node that ever ran has a folder under the pending root, and
        is live while its heartbeat entry has not expired. (One direct read per node: listing
        the bucket's keys would create a consumer on every beat.)"""
        names = await asyncio.to_thread(_node_folders, self.pending_root)
        nodes: dict[str, dict[str, Any]] = {}
        for name in sorted({*names, self.cfg.node}):
            with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                entry = await self.js.nodes.get(name)
                nodes[name] = json.loads(entry.value or b"{}")
        self.nodes = nodes

    def _follow_outages(self, gate: ServerGate) -> None:
        """The server gate is cluster-wide: while another node backs off from a server that
        does not answer, this one does too, instead of finding out with failures of its own."""
        hold = outage_hold_s(self.nodes, self.cfg.node, time.time())
        if hold > 0:
            until = gate.clock.now() + hold
            if until > gate.held_until + 1.0:
                log.info("another node backs off from the server: holding for %.0f s", hold)
            gate.held_until = max(gate.held_until, until)

    async def _adopt_orphans(self, delivery: ClusterDelivery) -> None:
        """Reports in the folder of a node that is not beating are sent by this node."""
        for folder, reports in await asyncio.to_thread(_orphan_folders, self.pending_root):
            if folder.name == self.cfg.node or folder.name in self.nodes:
                continue
            moved = await asyncio.to_thread(_move_reports, reports, self.pending_folder)
            if moved:
                self.adopted += delivery.adopt()
                log.warning(
                    "node %s has not announced itself for %g s: this node sends its %d "
                    "pending reports",
                    folder.name,
                    self.cfg.node_ttl_s,
                    len(moved),
                )

    # -- the shared output folders -----------------------------------------------------------

    async def _sweep_temps(self) -> None:
        """Temp files of a node killed mid-write; a live writer's temp is seconds old."""
        folders = {self.config.archive_folder, self.config.error_folder}
        folders |= {e.done_folder for e in self.config.converters if e.done_folder is not None}
        while True:
            await asyncio.to_thread(_remove_old_temps, folders, self.cfg.stale_temp_s)
            await asyncio.sleep(min(TEMP_SWEEP_S, self.cfg.stale_temp_s))

    def snapshot(self) -> dict[str, Any]:
        """The cluster as this node sees it, for status.json and `status`."""
        return {
            "node": self.cfg.node,
            "servers": list(self.cfg.servers),
            "nodes": self.nodes,
            "backlog": self.counts.backlog,
            "pending_total": sum(int(n.get("pending", 0)) for n in self.nodes.values()),
            "published": self.counts.published,
            "duplicates": self.counts.duplicates,
            "acked": self.counts.acked,
            "handed_back": self.counts.handed_back,
            "stale": self.counts.stale,
            "adopted": self.adopted,
        }


def outage_hold_s(nodes: dict[str, dict[str, Any]], me: str, now: float) -> float:
    """How long the other nodes' outage backoffs still run, as of `now` (wall clock): each
    announced its remaining wait at its `updated_at`."""
    hold = 0.0
    for name, beat in nodes.items():
        if name != me:
            left = float(beat.get("outage_for_s", 0)) - (now - float(beat.get("updated_at", now)))
            hold = max(hold, left)
    return hold


def _node_folders(root: Path) -> list[str]:
    with contextlib.suppress(OSError):
        return [f.name for f in root.iterdir() if f.is_dir() and NAME_RE.match(f.name)]
    return []


def _orphan_folders(root: Path) -> list[tuple[Path, list[Path]]]:
    found = []
    with contextlib.suppress(OSError):
        for folder in root.iterdir():
            if folder.is_dir():
                reports = list(folder.glob(f"*{QUEUED_SUFFIX}"))
                if reports:
                    found.append((folder, reports))
    return found


def _move_reports(reports: list[Path], into: Path) -> list[Path]:
    """Rename each report into `into` (atomic on the one file system: a report is in exactly
    one node's folder); one that vanished meanwhile was sent by its owner."""
    into.mkdir(parents=True, exist_ok=True)
    moved = []
    for report in reports:
        target = into / report.name
        try:
            os.rename(report, target)
        except FileNotFoundError:
            continue
        moved.append(target)
        # then its metadata (source, converter, attempts); a body whose meta did not follow
        # gets a new one (the outbox's own rule), a meta left behind is dropped by its folder
        meta = report.name.removesuffix(QUEUED_SUFFIX) + META_SUFFIX
        with contextlib.suppress(FileNotFoundError):
            os.rename(report.parent / meta, into / meta)
    return moved


def _remove_old_temps(folders: set[Path], older_than_s: float) -> None:
    cutoff = time.time() - older_than_s
    for folder in folders:
        for tmp in folder.rglob(f".*{TMP_SUFFIX}") if folder.exists() else ():
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    log.info("removed %s left by an interrupted write", tmp)
