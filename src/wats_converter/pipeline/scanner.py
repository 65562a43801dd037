"""Directory scanning: the source of truth for what is waiting (watcher events are only hints).

`Scanner` is the scan policy: a startup scan, then one every `scan_interval_s` (at least
`SCAN_SHARE` times the last one's duration, so scanning a huge backlog stays a small share of
the time), a full one every `FULL_SCAN_EVERY` scans and after a watcher failure; candidates are
offered to the worker pool in chunks, and files no converter claims are reported once each.
`scan` is one listing: names with `os.scandir`, and only names a converter claims are stat-ed.

A `DirMemo` lets periodic rescans skip folders whose entries have not changed since they were
last listed (same folder mtime: nothing created, removed or renamed in them), so an idle service
over 100,000 kept files does not stat them all every few seconds. Such a rescan still finds
every new file; only a file rewritten in place without its watcher event waits for the next full
scan, which the service makes every `FULL_SCAN_EVERY` rescans and after any watcher failure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wats_converter.clock import wait_event
from wats_converter.config import Config
from wats_converter.converters.registry import IGNORED, ConverterSlot, folder_patterns
from wats_converter.pipeline.worker_pool import WorkerPool
from wats_converter.stats import ServiceStats
from wats_converter.storage.journal import Journal

log = logging.getLogger(__name__)
SCAN_OFFER_CHUNK = 500
FULL_SCAN_EVERY = 10  # periodic scans; the others skip folders whose entries did not change
SCAN_SHARE = 20  # the wait after a periodic scan is at least this many times its duration
SECOND_LOOK_S = 2.0  # a second scan soon after start covers files that came while it armed
# a folder modified this recently may change again within its mtime's granularity: list it anyway
SETTLED_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Candidate:
    path: Path
    slot: ConverterSlot
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A file in a watch folder that no converter claims, and the slot whose folder it is in."""

    path: Path
    slot: ConverterSlot


@dataclass
class ScanStats:
    """The startup scan's numbers (architecture guide: scanned, queued, skipped, errors)."""

    scanned: int = 0
    queued: int = 0
    skipped: int = 0
    errors: int = 0
    unmatched: int = 0
    unchanged_folders: int = 0
    seconds: float = 0.0


@dataclass
class DirMemo:
    """Folders as last listed, per slot (two converters may share a folder): (slot index, path)
    -> (mtime_ns, subfolders)."""

    folders: dict[tuple[int, str], tuple[int, list[Path]]] = field(default_factory=dict)


def output_folders(config: Config) -> set[Path]:
    """The folders the service writes to: never scanned, even inside a watch folder."""
    folders = {config.pending_folder, config.archive_folder, config.error_folder, config.state_dir}
    for entry in config.enabled_converters():
        folders |= {f for f in (entry.done_folder, entry.error_folder) if f}
    return folders


def scan(
    slots: Sequence[ConverterSlot],
    exclude: set[Path],
    stats: ScanStats,
    memo: DirMemo | None = None,
    *,
    full: bool = True,
    unmatched: dict[str, Unmatched] | None = None,
) -> list[Candidate]:
    """Every file the slots claim, oldest modification first. With a `memo`, the folders seen
    are recorded in it, and unless `full`, those unchanged since it are skipped.

    With `unmatched`, every file listed that no slot claims (and that is not a temp, hidden or
    lock file, `IGNORED_NAMES`) is added to it, with the first slot (config order) whose walk
    found it: that slot's `unmatched` setting decides what happens to it.
    """
    found: list[Candidate] = []
    seen: set[str] = set()  # str, not Path: hashing 100,000 Paths costs more than the listing
    strays: dict[str, Unmatched] = {}
    for slot in slots:
        walk = _walk(slot, exclude, stats, memo, full)
        for folder, entry in walk:
            if entry.path in seen:
                continue
            # the walk is inside this slot's own folder: only the name needs checking
            if not slot.wants(entry.name, folder):
                if (
                    unmatched is not None
                    and entry.path not in strays
                    and IGNORED.match(entry.name.lower()) is None
                ):
                    strays[entry.path] = Unmatched(folder / entry.name, slot)
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                stats.errors += 1
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # a symlink, FIFO or device is never read (it could name any file)
            seen.add(entry.path)
            path = folder / entry.name  # far cheaper than parsing the whole Path(entry.path)
            found.append(Candidate(path, slot, st.st_size, st.st_mtime_ns))
    found.sort(key=lambda c: c.mtime_ns)
    if unmatched is not None:
        _add_unclaimed(strays, seen, unmatched)
        stats.unmatched = len(unmatched)
    return found


def _add_unclaimed(
    strays: dict[str, Unmatched], seen: set[str], unmatched: dict[str, Unmatched]
) -> None:
    """Add to `unmatched` the `strays` of one slot that no other slot sharing the folder claims."""
    for key, stray in strays.items():
        if key not in seen:
            unmatched[key] = stray


def _walk(
    slot: ConverterSlot, exclude: set[Path], stats: ScanStats, memo: DirMemo | None, full: bool
) -> Iterator[tuple[Path, os.DirEntry[str]]]:
    """(folder, entry) for every file in the slot's watch folder (and below, if recursive) in
    folders changed since `memo`."""
    recursive = slot.entry.recursive
    pending = [slot.entry.watch_folder]
    while pending:
        current = pending.pop()
        key = (slot.index, str(current))
        mtime = _listing_due(memo, key, current, full, stats, pending)
        if mtime is None:
            continue
        subfolders: list[Path] = []
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        stats.errors += 1
                        continue
                    if is_dir:
                        if (
                            recursive
                            and Path(entry.path) not in exclude
                            and not entry.name.startswith(".")
                        ):
                            subfolders.append(Path(entry.path))
                    else:
                        stats.scanned += 1
                        yield current, entry
        except FileNotFoundError:
            continue
        except OSError as exc:
            stats.errors += 1
            log.warning("cannot list %s: %s", current, exc.strerror)
            continue
        pending.extend(subfolders)
        if memo is not None and mtime and time.time_ns() - mtime > SETTLED_NS:
            memo.folders[key] = (mtime, subfolders)


def _listing_due(
    memo: DirMemo | None,
    key: tuple[int, str],
    folder: Path,
    full: bool,
    stats: ScanStats,
    pending: list[Path],
) -> int | None:
    """The folder's mtime (0 without a memo, or if it cannot be read: the listing reports
    why) if it is to be listed; None if not: it is gone, or unchanged since `memo` and not a
    `full` scan (then its known subfolders go on `pending` instead)."""
    if memo is None:
        return 0
    try:
        mtime = os.stat(folder).st_mtime_ns
    except FileNotFoundError:
        memo.folders.pop(key, None)
        return None
    except OSError:
        memo.folders.pop(key, None)
        mtime = 0
    known = memo.folders.get(key)
    if not full and known is not None and known[0] == mtime:
        stats.unchanged_folders += 1
        pending.extend(known[1])
        return None
    return mtime


class Scanner:
    """When to scan, what to list, and what to offer the worker pool (watcher hints too)."""

    def __init__(
        self,
        config: Config,
        slots: Sequence[ConverterSlot],
        pool: WorkerPool,
        journal: Journal,
        stats: ServiceStats,
    ) -> None:
        self.config = config
        self.slots = list(slots)
        self.pool = pool
        self.clock = pool.clock  # rescans are timed on the clock the pool decides by
        self.journal = journal
        self.stats = stats
        self.outputs = output_folders(config)
        self._rescan = asyncio.Event()
        self._folders = DirMemo()
        self._full_scan = True  # the next scan lists every folder, changed or not
        self._unmatched: dict[str, Unmatched] = {}  # path -> where; each logged once

    @property
    def unmatched(self) -> int:
        """Files no converter claims, as of the last scan."""
        return len(self._unmatched)

    def watcher_failed(self) -> None:
        self._full_scan = True  # events may be lost: look at every file again, now
        self._rescan.set()

    def offer_hints(self, paths: list[Path]) -> None:
        """Watcher events: files that may be new or changed, offered once they settle."""
        # our own done/ or error/ inside a recursive watch folder: its files are outputs
        watched = {s.entry.watch_folder for s in self.slots}
        own = {f for f in self.outputs if watched.intersection(f.parents)}
        for path in paths:
            if not own or not own.intersection(path.parents):
                self.pool.offer(path, self.config.settle_s)

    async def run(self) -> None:
        """Scan periodically until cancelled (after the startup `scan`)."""
        await wait_event(self._rescan, self.clock, SECOND_LOOK_S)
        while True:
            self._rescan.clear()
            took = (await self.scan()).seconds
            wait = max(self.config.scan_interval_s, SCAN_SHARE * took)
            await wait_event(self._rescan, self.clock, wait)

    async def scan(self, *, startup: bool = False) -> ScanStats:
        """One scan: offer every claimed file not kept, report the unclaimed ones."""
        stats = ScanStats()
        started = time.monotonic()
        full = self._full_scan or self.stats.scans % FULL_SCAN_EVERY == 0
        self._full_scan = False  # a watcher failure during this scan asks for another
        strays: dict[str, Unmatched] = {}
        # listing 100,000 files takes seconds: in a thread, so workers and senders keep going
        candidates = await asyncio.to_thread(
            scan, self.slots, self.outputs, stats, self._folders, full=full, unmatched=strays
        )
        await self._unmatched_files(strays, full)
        await self._offer(candidates, stats)
        self.stats.scans += 1
        stats.seconds = time.monotonic() - started
        self._log(stats, startup)
        return stats

    async def _offer(self, candidates: list[Candidate], stats: ScanStats) -> None:
        for n, candidate in enumerate(candidates, 1):
            if candidate.slot.keeps and self.journal.is_kept(
                candidate.path, (candidate.size, candidate.mtime_ns)
            ):
                stats.skipped += 1
            elif self.pool.offer(candidate.path, slot=candidate.slot):
                stats.queued += 1
            if n % SCAN_OFFER_CHUNK == 0:
                await asyncio.sleep(0)  # let the workers in between chunks

    def _log(self, stats: ScanStats, startup: bool) -> None:
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

    async def _unmatched_files(self, found: dict[str, Unmatched], full: bool) -> None:
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
                if young or await self.pool.reject_unmatched(stray.path, stray.slot):
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


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0
