"""Post-processing: what happens to a source file once its reports are accepted by the server
or safe in pending/.

DELETE unlinks it, MOVE moves it to the done folder, ZIP writes `<name>.zip` into the archive
folder and removes it, KEEP leaves it and records it in the journal so it is never submitted
again. Every step is durable before the source disappears; no name is ever overwritten.

Each action applies only to the inode that was converted (`FileIdentity`): a file renamed onto
the same name while the report was delivered raises `SourceReplaced` and is left for its own
conversion. The identity is checked before anything is written and again right before the name
is removed (a moved file's new link is checked to be that inode), so only a replacement within
those few microseconds could still be caught out.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from wats_converter.config import PostProcessAction
from wats_converter.converters.registry import ConverterSlot
from wats_converter.failpoints import failpoint
from wats_converter.pipeline.error_folder import ErrorInfo, quarantine
from wats_converter.storage.durable import (
    candidate_names,
    fsync_dir,
    move_no_overwrite,
    temp_path,
    unique_path,
)
from wats_converter.storage.identity import (
    FileIdentity,
    check_unchanged,
    open_regular,
)
from wats_converter.storage.journal import Journal


class PostProcessor:
    """What happens to a source at its end: its slot's action once its reports are safe
    (`finish`), or the error folder when it cannot go on (`quarantine`)."""

    def __init__(self, journal: Journal, archive_folder: Path) -> None:
        self.journal = journal
        self.archive_folder = archive_folder

    async def finish(self, source: Path, slot: ConverterSlot, converted: FileIdentity) -> str:
        """Apply the slot's action to `source`, if it is still the `converted` file (else
        `SourceReplaced`); return a short description of where it went."""
        action = slot.entry.post_process_action
        check_unchanged(source, converted)
        if action is PostProcessAction.KEEP:
            self.journal.keep(source, converted.key, "KEEP", slot.name)
            return "kept"
        if action is PostProcessAction.DELETE:
            # on the loop: an lstat and an unlink, the same kind of call as the identity checks
            # the loop already makes on the watch folder; a hop to a thread cost more CPU than
            # the unlink (a thread wake-up with the GIL held: 16 % of the service's GIL time
            # in a 1 KB burst; 1.98 -> 1.74 ms of service CPU per file, docs/performance.md)
            # no folder fsync: a delete lost to a power cut brings the file back, and the service
            # then sends the same report id again, which overwrites; the report is already durable.
            # The identity was checked just above with no await since: no second lstat
            source.unlink()
            return "deleted"
        if action is PostProcessAction.MOVE:
            assert slot.entry.done_folder is not None
            moved = await asyncio.to_thread(
                move_no_overwrite, source, slot.entry.done_folder, expected=converted
            )
            return f"moved to {moved}"
        archive = await asyncio.to_thread(zip_file, source, self.archive_folder, converted)
        return f"zipped to {archive}"

    async def quarantine(
        self, source: Path, slot: ConverterSlot, folder: Path, info: ErrorInfo
    ) -> Path:
        """Move `source` (a file of `slot`) into the error `folder` with its `.error`; return
        where it went (`FileNotFoundError`: it is gone; `OSError`: it stays in place)."""
        return await asyncio.to_thread(quarantine, source, folder, info)


def zip_file(source: Path, folder: Path, converted: FileIdentity) -> Path:
    """Write `source` into `folder/<name>.zip` (crash-safe: temp, fsync, link), then remove it.

    An archive left by an interrupted run that already holds this exact file (the same source
    path and inode, recorded in the archive's comment, and the same bytes) is reused, so a crash
    between archiving and removing the source never yields a second archive, and an archive of
    another file with the same name is never mistaken for this one's.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd = open_regular(source, converted)
    with os.fdopen(fd, "rb") as src:
        marker = _marker(source, converted)
        target = _earlier_archive(src, source.name, marker, folder) or _write_archive(
            src, source.name, marker, folder, converted.mtime_ns
        )
    failpoint("mid_zip")
    check_unchanged(source, converted)
    source.unlink()
    fsync_dir(source.parent)
    return target


def _marker(source: Path, converted: FileIdentity) -> bytes:
    """What ties an archive to its source: its absolute path (lossless) and its inode."""
    return json.dumps(
        {
            "source": os.fsencode(source.absolute()).hex(),
            "dev": converted.dev,
            "ino": converted.ino,
            "size": converted.size,
            "mtime_ns": converted.mtime_ns,
        },
        sort_keys=True,
    ).encode()


def _write_archive(src: BinaryIO, name: str, marker: bytes, folder: Path, mtime_ns: int) -> Path:
    tmp = temp_path(folder, f"{name}.zip")
    try:
        with zipfile.ZipFile(tmp, "x", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.comment = marker
            src.seek(0)
            with archive.open(_zip_info(name, mtime_ns), "w", force_zip64=True) as member:
                while chunk := src.read(1024 * 1024):
                    member.write(chunk)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        while True:
            target = unique_path(folder, f"{name}.zip")
            try:
                os.link(tmp, target)
                break
            except FileExistsError:
                continue
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(folder)
    return target


def _zip_info(name: str, mtime_ns: int) -> zipfile.ZipInfo:
    # ZIP dates run from 1980 to 2107: a file with a timestamp outside (or absurd) is dated
    # 1980-01-01 rather than refused
    when = (1980, 1, 1, 0, 0, 0)
    try:
        t = time.localtime(mtime_ns / 1e9)
    except (OverflowError, OSError, ValueError):
        t = None
    if t is not None and 1980 <= t.tm_year <= 2107:
        when = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _earlier_archive(src: BinaryIO, name: str, marker: bytes, folder: Path) -> Path | None:
    crc: int | None = None
    for candidate in candidate_names(folder, f"{name}.zip"):
        if not candidate.exists():
            return None
        try:
            with zipfile.ZipFile(candidate) as archive:
                if archive.comment != marker:
                    continue
                info = archive.getinfo(name)
        except (zipfile.BadZipFile, KeyError, OSError):
            continue
        if crc is None:
            src.seek(0)
            crc = 0
            while chunk := src.read(1024 * 1024):
                crc = zlib.crc32(chunk, crc)
        if crc == info.CRC:
            return candidate
    return None
