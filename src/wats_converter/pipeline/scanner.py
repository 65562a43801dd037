"""Directory scanning: the source of truth for what is waiting (watcher events are only hints).

Names are listed with `os.scandir`; only names that a converter claims are stat-ed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from wats_converter.pipeline.slot import ConverterSlot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Candidate:
    path: Path
    slot: ConverterSlot
    size: int
    mtime_ns: int


@dataclass
class ScanStats:
    """The startup scan's numbers (architecture guide: scanned, queued, skipped, errors)."""

    scanned: int = 0
    queued: int = 0
    skipped: int = 0
    errors: int = 0


def scan(slots: Sequence[ConverterSlot], exclude: set[Path], stats: ScanStats) -> list[Candidate]:
    """Every file the slots claim, oldest modification first."""
    found: list[Candidate] = []
    seen: set[str] = set()  # str, not Path: hashing 100,000 Paths costs more than the listing
    for slot in slots:
        for folder, entry in _walk(slot.entry.watch_folder, slot.entry.recursive, exclude, stats):
            # the walk is inside this slot's own folder: only the name needs checking
            if entry.path in seen or not slot.wants(entry.name, folder):
                continue
            try:
                st = entry.stat()
            except OSError:
                stats.errors += 1
                continue
            seen.add(entry.path)
            path = folder / entry.name  # far cheaper than parsing the whole Path(entry.path)
            found.append(Candidate(path, slot, st.st_size, st.st_mtime_ns))
    found.sort(key=lambda c: c.mtime_ns)
    return found


def _walk(
    folder: Path, recursive: bool, exclude: set[Path], stats: ScanStats
) -> Iterator[tuple[Path, os.DirEntry[str]]]:
    """(folder, entry) for every file below `folder`."""
    pending = [folder]
    while pending:
        current = pending.pop()
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
                            pending.append(Path(entry.path))
                    else:
                        stats.scanned += 1
                        yield current, entry
        except FileNotFoundError:
            continue
        except OSError as exc:
            stats.errors += 1
            log.warning("cannot list %s: %s", current, exc.strerror)
