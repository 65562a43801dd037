"""ClusterWorkQueue: the WorkQueue of cluster mode, backed by a JetStream work-queue stream.

Every node scans the shared watch folders; a file found becomes one work item, published with
a message id derived from its identity (`WorkRef.msg_id`), so the stream stores it once however
many scans and nodes find it within the duplicate window. A node pulls an item only when a worker
is free (bounded in-flight: one item per worker), renews it while converting, and acknowledges
it once the WorkerPool is done with the file (post-processed, kept, or in error/); a file that
must wait (settling, retry later) is handed back to the cluster with a delay (`nak`). An item of
a node that dies is given to another node after `ack_wait_s`.

The WorkerPool sees the same interface as the local WorkQueue (put_nowait, get, done).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg

from wats_converter.cluster.jetstream import (
    PRIORITIES,
    TRANSIENT,
    JetStream,
    persist,
    raise_if_cancelling,
    subject,
)
from wats_converter.cluster.settings import ClusterConfig
from wats_converter.converters.registry import ConverterSlot
from wats_converter.pipeline.work_queue import WorkItem, WorkQueue
from wats_converter.storage.identity import FileIdentity, identity_of

log = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 0.1
IDLE_POLL_S = 0.25
COUNTS_MAX_AGE_S = 0.2
PUBLISH_CHUNK = 64
FETCH_ENDED: tuple[type[BaseException], ...] = (*TRANSIENT, nats.js.errors.FetchTimeoutError)


@dataclass(frozen=True, slots=True)
class WorkRef:
    """A work item: which file, as every node can name it, and which version of it.

    The path is relative to the converter's watch folder, since nodes may mount the share in
    different places. The version is (inode, size, mtime_ns) without the device number, which
    differs between the NFS or SMB clients of one share while the inode is the server's; a file
    written again, or replaced under the same name, is a new item.
    """

    slot: str
    rel: str
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path, slot: ConverterSlot, identity: FileIdentity) -> WorkRef | None:
        try:
            rel = path.relative_to(slot.entry.watch_folder).as_posix()
        except ValueError:
            return None
        return cls(slot.name, rel, identity.ino, identity.size, identity.mtime_ns)

    @property
    def msg_id(self) -> str:
        """The Nats-Msg-Id and the key of the handled and claims buckets."""
        text = json.dumps([self.slot, self.rel, self.ino, self.size, self.mtime_ns])
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def matches(self, identity: FileIdentity | None) -> bool:
        return identity is not None and (identity.ino, identity.size, identity.mtime_ns) == (
            self.ino,
            self.size,
            self.mtime_ns,
        )

    def encode(self) -> bytes:
        return json.dumps([self.slot, self.rel, self.ino, self.size, self.mtime_ns]).encode()

    @classmethod
    def decode(cls, data: bytes) -> WorkRef:
        slot, rel, ino, size, mtime_ns = json.loads(data)
        return cls(str(slot), str(rel), int(ino), int(size), int(mtime_ns))


@dataclass
class _Held:
    msg: Msg
    ref: WorkRef
    delay_s: float | None = None  # set when the pool hands the file back for later


class ClusterWorkQueue(WorkQueue):
    """The cluster's work items, as the WorkerPool's queue (see the module docstring)."""

    def __init__(
        self, js: JetStream, cfg: ClusterConfig, slots: list[ConverterSlot], counters: WorkCounts
    ) -> None:
        super().__init__()
        self.js = js
        self.cfg = cfg
        self.counters = counters
        self._slots = {s.name: s for s in slots}
        self._held: dict[Path, _Held] = {}
        self._fetched: list[Msg] = []  # fetched, not yet taken by a worker
        self._fetching = asyncio.Lock()
        self._getters = 0
        self._workers = 1  # the most workers seen waiting at once: the batch size
        self._finishing: dict[Path, _Held] = {}
        self._published: dict[str, float] = {}  # msg id -> when; not offered again meanwhile
        self._outbox: list[tuple[int, WorkRef]] = []
        self._outbox_ready = asyncio.Event()
        self._counts: tuple[float, list[int]] = (0.0, [])
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count()

    # -- the WorkQueue interface -------------------------------------------------------------

    def put_nowait(self, path: Path, slot: ConverterSlot, delay_s: float = 0.0) -> bool:
        """Offer `path`: queued for the cluster unless its current version is already."""
        finishing = self._finishing.get(path)
        if finishing is not None:  # the pool hands back the file it just had: later, anywhere
            finishing.delay_s = delay_s
            return False
        if delay_s > 0:
            # a watcher event: offered once the file had time to settle, as the version it is
            # then (the cluster would otherwise hand a still-settling file around)
            asyncio.get_running_loop().call_later(delay_s, self.put_nowait, path, slot)
            return False
        identity = identity_of(path)
        ref = WorkRef.of(path, slot, identity) if identity is not None else None
        if ref is None or ref.msg_id in self._published:
            return False
        self._published[ref.msg_id] = time.monotonic()
        self._outbox.append((slot.priority, ref))
        self._outbox_ready.set()
        return True

    async def get(self) -> WorkItem:
        """The next cluster work item for this node whose file is still that version."""
        while True:
            if self._closed:  # a stop: the worker waits until it is cancelled
                await asyncio.Future()
            msg = await self._pull()
            try:
                item = await self._admit(msg)
            except Exception:  # a worker's get must not fail: the item goes back to the cluster
                raise_if_cancelling()
                log.exception("cannot take a work item now; it is handed back")
                await _quietly(msg.nak(delay=1.0))
                continue
            if item is not None:
                return item

    def done(self, path: Path) -> None:
        held = self._held.pop(path, None)
        if held is None:
            return
        if not self._held:
            self._idle.set()  # the WorkQueue's: `wait_idle` (a clean stop) waits for it
        # the pool may hand the file back in the same breath (`_later`: done, then put_nowait)
        self._finishing[path] = held
        asyncio.get_running_loop().call_soon(self._settle, path)

    def qsize(self) -> int:
        return len(self._outbox)

    def in_work(self) -> int:
        return len(self._held)

    def empty(self) -> bool:
        return not self._held and not self._outbox

    def only(self, paths: set[Path]) -> bool:
        return self.empty()

    # -- pulling -----------------------------------------------------------------------------

    async def _pull(self) -> Msg:
        """The next message: from the batch the last fetch brought, or a new fetch. One fetch
        at a time per node, for as many messages as the node has workers: while one worker
        converts, the next file is already here (at most one per worker waits, renewed)."""
        self._getters += 1
        self._workers = max(self._workers, self._getters)
        try:
            async with self._fetching:
                while not self._fetched:
                    self._fetched = await self._fetch(self._workers)
                    if not self._fetched:
                        await asyncio.sleep(IDLE_POLL_S)
                return self._fetched.pop(0)
        finally:
            self._getters -= 1

    async def _fetch(self, batch: int) -> list[Msg]:
        for priority in await self._bands():
            try:
                msgs = await self.js.consumers[priority].fetch(batch, timeout=FETCH_TIMEOUT_S)
            except FETCH_ENDED:
                raise_if_cancelling()
                continue
            except Exception as exc:  # reconnecting, closed: wait, as for no work
                raise_if_cancelling()
                log.debug("fetch p%d: %s", priority, exc)
                return []
            if msgs:
                return list(msgs)
        return []

    async def _bands(self) -> list[int]:
        """Priorities with items in the stream, most urgent first (cached for a moment, shared
        by the workers)."""
        at, bands = self._counts
        if time.monotonic() - at < COUNTS_MAX_AGE_S:
            return bands
        try:
            info = await self.js.js.stream_info(
                self.cfg.work_stream, subjects_filter=f"{self.cfg.subject_prefix}.>"
            )
        except Exception as exc:  # no answer now: no work now, ask again shortly
            raise_if_cancelling()
            log.debug("stream info: %s", exc)
            return []
        counts = info.state.subjects or {}
        bands = [p for p in PRIORITIES if counts.get(subject(self.cfg, p), 0) > 0]
        self._counts = (time.monotonic(), bands)
        self.counters.backlog = int(info.state.messages)
        return bands

    async def _admit(self, msg: Msg) -> WorkItem | None:
        try:
            ref = WorkRef.decode(msg.data)
        except (ValueError, TypeError):
            log.error("dropping a malformed work item: %r", msg.data[:200])
            await _quietly(msg.term())
            return None
        slot = self._slots.get(ref.slot)
        if slot is None:
            log.warning("work item for converter %r, which this node does not run", ref.slot)
            await _quietly(msg.nak(delay=self.cfg.ack_wait_s))
            return None
        path = slot.entry.watch_folder / ref.rel
        if path in self._held or path in self._finishing:
            await _quietly(msg.nak(delay=1.0))  # this node works on that path right now
            return None
        # a moved, zipped, deleted or quarantined file is gone once handled: its absence is
        # the record; only a file that stays (KEEP) needs the handled bucket
        if not ref.matches(identity_of(path)) or (slot.keeps and await self._handled(ref)):
            # gone, changed (the new version is its own item) or handled already: done with
            self.counters.stale += 1
            await _quietly(msg.ack())
            return None
        self._held[path] = _Held(msg, ref)
        self._idle.clear()
        return WorkItem(path, slot, time.monotonic(), next(self._ids))

    async def _handled(self, ref: WorkRef) -> bool:
        try:
            await persist("read the handled bucket", lambda: self.js.handled.get(ref.msg_id))
        except nats.js.errors.KeyNotFoundError:
            return False
        return True

    # -- finishing ---------------------------------------------------------------------------

    def _settle(self, path: Path) -> None:
        held = self._finishing.pop(path, None)
        if held is not None:
            task = asyncio.get_running_loop().create_task(self._finish(held))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _finish(self, held: _Held) -> None:
        try:
            await self._ack_or_hand_back(held)
        except Exception:  # not acknowledged: the item comes back after ack_wait_s
            log.exception("cannot finish the work item of %s", held.ref.rel)

    async def _ack_or_hand_back(self, held: _Held) -> None:
        if held.delay_s is not None:
            self.counters.handed_back += 1
            await _quietly(held.msg.nak(delay=max(0.05, held.delay_s)))
            return
        slot = self._slots[held.ref.slot]
        if slot.keeps:  # recorded before the ack: a redelivery after a lost ack finds it handled
            await persist(
                "record a handled file",
                lambda: self.js.handled.put(held.ref.msg_id, self.cfg.node.encode()),
            )
        self.counters.acked += 1
        await _quietly(held.msg.ack())

    async def release(self) -> None:
        """On a stop: finish the acks under way, hand every item still in work back to the
        cluster at once (another node takes it now, not after ack_wait_s)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        msgs = [h.msg for h in (*self._held.values(), *self._finishing.values())]
        msgs += self._fetched
        self._held.clear()
        self._finishing.clear()
        self._fetched = []
        await asyncio.gather(*(_quietly(m.nak()) for m in msgs))

    # -- background --------------------------------------------------------------------------

    async def run(self) -> None:
        """Publish offered files and renew the items in work (cancel to stop)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._publisher())
            group.create_task(self._renewer())

    async def _publisher(self) -> None:
        while True:
            await self._outbox_ready.wait()
            chunk, self._outbox = self._outbox[:PUBLISH_CHUNK], self._outbox[PUBLISH_CHUNK:]
            if not self._outbox:
                self._outbox_ready.clear()
            await asyncio.gather(*(self._publish(p, ref) for p, ref in chunk))
            self._forget_published()

    async def _publish(self, priority: int, ref: WorkRef) -> None:
        try:
            ack = await persist(
                "queue a file",
                lambda: self.js.js.publish(
                    subject(self.cfg, priority),
                    ref.encode(),
                    stream=self.cfg.work_stream,
                    headers={"Nats-Msg-Id": ref.msg_id},
                ),
            )
        except Exception as exc:  # the file stays where it is: the next scan offers it again
            log.error("cannot queue %s for the cluster (%s); the next scan retries", ref.rel, exc)
            self._published.pop(ref.msg_id, None)
            return
        if ack.duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.published += 1

    def _forget_published(self) -> None:
        """Offered ids are remembered for the stream's duplicate window, no longer: after it,
        only the handled bucket (or the file's absence) tells a repeat."""
        cutoff = time.monotonic() - self.cfg.duplicate_window_s
        if self._published and next(iter(self._published.values())) < cutoff:
            self._published = {k: t for k, t in self._published.items() if t >= cutoff}

    async def _renewer(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.ack_wait_s / 3)
            for msg in [h.msg for h in self._held.values()] + self._fetched:
                await _quietly(msg.in_progress())


@dataclass
class WorkCounts:
    """This node's work-stream figures, for status and /metrics."""

    published: int = 0
    duplicates: int = 0
    acked: int = 0
    handed_back: int = 0
    stale: int = 0
    backlog: int = 0


async def _quietly(ack: Awaitable[None]) -> None:
    """An ack, nak or in-progress: lost ones are repaired by a redelivery, never fatal."""
    with contextlib.suppress(*TRANSIENT, nats.errors.Error):
        await ack
