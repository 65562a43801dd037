"""Filing a file that cannot go on in the error folder: the hint each failure gets, why a
file is given up after its attempts, and the counters and log lines that say so.

The post-processor's `quarantine` moves the file and writes its `.error` (in cluster mode
under the same claim as the other end actions, so one node files it); this module decides
what the `.error` says and tells the operator.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

from wats_converter.converters.registry import ConverterSlot, folder_patterns
from wats_converter.errors import (
    ConversionError,
    ConversionTimedOut,
    NoConverterFound,
    PoisonFile,
    StorageError,
    WorkerCrashed,
)
from wats_converter.logs import FileOutcome, file_fields
from wats_converter.pipeline.error_folder import ErrorInfo
from wats_converter.pipeline.post_process import PostProcessor
from wats_converter.stats import ServiceStats
from wats_converter.storage.journal import Journal

log = logging.getLogger(__name__)
ERROR_HINTS = {
    "FileTooLarge": "Raise the converter's max_file_size_bytes setting if the file is genuine.",
    "ConversionTimedOut": "The converter hung on this file repeatedly; check the file and the "
    "converter, then `errors requeue` it.",
    "PoisonFile": "Converting this file crashed every time (the converter's process died, or "
    "the service stopped while converting it); check the file and the converter, then "
    "`errors requeue` it.",
    "FileIncomplete": "The tester stopped writing this file before its end marker. Complete "
    "the file (or raise the converter's incomplete_timeout_s setting), then `errors requeue` it.",
    "NoConverterFound": "No converter of this watch folder claims this file. Add a converter "
    "(or `patterns`) for it, then `errors requeue` it.",
}
DEFAULT_HINT = (
    "The converter could not read this file. Fix the file (or the converter) and "
    "`wats-converter errors requeue NAME`, or drop it into the watch folder again."
)


class FailureFiling:
    """Moves failed and unclaimed files to their error folder and counts them."""

    def __init__(self, post: PostProcessor, stats: ServiceStats, error_folder: Path) -> None:
        self.post = post
        self.journal: Journal = post.journal
        self.stats = stats
        self.default_error_folder = error_folder

    def error_folder(self, slot: ConverterSlot) -> Path:
        return slot.entry.error_folder or self.default_error_folder

    async def fail(self, path: Path, slot: ConverterSlot, exc: Exception, attempts: int) -> bool:
        """Quarantine `path` with why it failed; False if it cannot be moved now (it stays in
        place, to be tried again later)."""
        info = ErrorInfo.from_exception(
            exc,
            file=path,
            converter=slot.name,
            hint=ERROR_HINTS.get(type(exc).__name__, DEFAULT_HINT),
            attempts=attempts,
        )
        info = dataclasses.replace(info, converter_class=slot.converter.display_name)
        try:
            moved = await self.post.quarantine(path, slot, self.error_folder(slot), info)
        except FileNotFoundError:
            return True
        except (OSError, StorageError) as err:
            log.error(
                "%s failed (%s) and cannot be moved to %s: %s; it stays in place",
                path,
                exc,
                self.error_folder(slot),
                err,
            )
            return False
        self.journal.clear_attempts(path)
        self.stats.counts(slot.name).failed += 1
        self.stats.last_error = f"{path.name}: {type(exc).__name__}: {exc}"
        log.error(
            "%s failed to convert with %s: %s -> %s",
            path,
            slot.name,
            exc,
            moved,
            extra=file_fields(file=path, converter=slot.name, outcome=FileOutcome.FAILED),
        )
        return True

    async def reject_unmatched(
        self, path: Path, slot: ConverterSlot, slots: Sequence[ConverterSlot]
    ) -> bool:
        """Move a file no converter of `slots` claims to `slot`'s error folder (`unmatched:
        error`); False if it cannot be moved now (the next scan tries again)."""
        folder = slot.entry.watch_folder
        takes = folder_patterns(slots, folder)
        exc = NoConverterFound(f"no converter watching {folder} takes this name ({takes})")
        info = ErrorInfo.from_exception(
            exc,
            file=path,
            converter=slot.name,  # the entry whose `unmatched: error` moved it
            hint=ERROR_HINTS["NoConverterFound"],
            with_traceback=False,
        )
        try:
            moved = await self.post.quarantine(path, slot, self.error_folder(slot), info)
        except FileNotFoundError:
            return True  # gone: nothing left to say about it
        except (OSError, StorageError) as err:
            log.error("%s: %s, and it cannot be moved to the error folder: %s", path, exc, err)
            return False
        self.stats.unmatched_to_error += 1
        self.stats.last_error = f"{path.name}: {exc}"
        log.warning("%s: %s -> %s", path, exc, moved)
        return True


def exhausted(attempts: int, last: ConversionTimedOut | WorkerCrashed | None) -> ConversionError:
    """Why a file is given up after `attempts` conversions that never finished: it hung the
    converter (`ConversionTimedOut`), or it crashed it: the worker process died, or the service
    itself stopped during its conversion (`last` is None: the journal counted the attempt)."""
    if isinstance(last, ConversionTimedOut):
        return ConversionTimedOut(f"timed out {attempts} times; the last time: {last}")
    why = f"the last time: {last}" if last else "the service stopped during its conversion"
    return PoisonFile(f"conversion crashed or timed out {attempts} times; {why}")
