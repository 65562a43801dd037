"""Post-processing: what happens to a source file once its reports are accepted by the server
or safe in pending/.

DELETE unlinks it, MOVE moves it to the done folder, ZIP writes `<name>.zip` into the archive
folder and removes it, KEEP leaves it and records it in the journal so it is never submitted
again. Every step is durable before the source disappears; no name is ever overwritten.
"""

from __future__ import annotations

import asyncio
import os
import zipfile
import zlib
from pathlib import Path

from wats_converter.config import PostProcessAction
from wats_converter.failpoints import failpoint
from wats_converter.pipeline.durable import (
    TMP_SUFFIX,
    candidate_names,
    fsync_dir,
    move_no_overwrite,
    unique_path,
)
from wats_converter.pipeline.journal import FileKey, Journal
from wats_converter.pipeline.slot import ConverterSlot


class PostProcessor:
    def __init__(self, journal: Journal, archive_folder: Path) -> None:
        self.journal = journal
        self.archive_folder = archive_folder

    async def finish(self, source: Path, slot: ConverterSlot, key: FileKey) -> str:
        """Apply the slot's action to `source`; return a short description of where it went."""
        action = slot.entry.post_process_action
        if action is PostProcessAction.KEEP:
            self.journal.keep(source, key, "KEEP", slot.name)
            return "kept"
        if action is PostProcessAction.DELETE:
            await asyncio.to_thread(_delete, source)
            return "deleted"
        if action is PostProcessAction.MOVE:
            assert slot.entry.done_folder is not None
            moved = await asyncio.to_thread(move_no_overwrite, source, slot.entry.done_folder)
            return f"moved to {moved}"
        archive = await asyncio.to_thread(zip_file, source, self.archive_folder)
        return f"zipped to {archive}"


def _delete(source: Path) -> None:
    # no folder fsync: a delete lost to a power cut brings the file back, and the service then
    # sends the same report id again, which overwrites; the report itself is already durable
    source.unlink()


def zip_file(source: Path, folder: Path) -> Path:
    """Write `source` into `folder/<name>.zip` (crash-safe: temp, fsync, link), then remove it.

    An archive left by an interrupted run that already holds this exact file is reused, so a
    crash between archiving and removing the source never yields a second archive.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = _earlier_archive(source, folder) or _write_archive(source, folder)
    failpoint("mid_zip")
    source.unlink()
    fsync_dir(source.parent)
    return target


def _write_archive(source: Path, folder: Path) -> Path:
    tmp = folder / f".{source.name}.{os.getpid()}.zip{TMP_SUFFIX}"
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(source, arcname=source.name)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        while True:
            target = unique_path(folder, f"{source.name}.zip")
            try:
                os.link(tmp, target)
                break
            except FileExistsError:
                continue
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(folder)
    return target


def _earlier_archive(source: Path, folder: Path) -> Path | None:
    size = source.stat().st_size
    crc: int | None = None
    for candidate in candidate_names(folder, f"{source.name}.zip"):
        if not candidate.exists():
            return None
        try:
            with zipfile.ZipFile(candidate) as archive:
                info = archive.getinfo(source.name)
        except (zipfile.BadZipFile, KeyError, OSError):
            continue
        if info.file_size == size:
            crc = zlib.crc32(source.read_bytes()) if crc is None else crc
            if crc == info.CRC:
                return candidate
    return None
