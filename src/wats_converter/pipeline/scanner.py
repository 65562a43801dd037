"""Directory scanning: the source of truth for what is waiting (watcher events are only hints).

Names are listed with `os.scandir`; only names that a converter claims are stat-ed.

A `DirMemo` lets periodic rescans skip folders whose entries have not changed since they were
last listed (same folder mtime: nothing created, removed or renamed in them), so an idle service
over 100,000 kept files does not stat them all every few seconds. Such a rescan still finds
every new file; only a file rewritten in place without its watcher event waits for the next full
scan, which the service makes every `FULL_SCAN_EVERY` rescans and after any watcher failure.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wats_converter.config import Config
from wats_converter.converters.registry import IGNORED, ConverterSlot

log = logging.getLogger(__name__)
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
        for key, stray in strays.items():
            if key not in seen:  # another slot sharing the folder claims it
                unmatched[key] = stray
        stats.unmatched = len(unmatched)
    return found


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
        mtime = 0
        if memo is not None:
            try:
                mtime = os.stat(current).st_mtime_ns
            except FileNotFoundError:
                memo.folders.pop(key, None)
                continue
            except OSError:
                memo.folders.pop(key, None)  # the listing below reports why
            known = memo.folders.get(key)
            if not full and known is not None and known[0] == mtime:
                stats.unchanged_folders += 1
                pending.extend(known[1])
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
