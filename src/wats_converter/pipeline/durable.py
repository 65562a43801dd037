"""Crash-safe file operations: atomic writes, no-overwrite moves, directory fsyncs.

Every write that the delivery promise depends on goes through here: temp file in the same folder,
write, fsync, rename, fsync the folder. A move never overwrites: a name collision gets a suffix.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from wats_converter.errors import StorageError
from wats_converter.failpoints import failpoint

TMP_SUFFIX = ".tmp"
STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO, errno.EACCES, errno.EPERM}


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in `folder` durable (no-op where folders cannot be opened)."""
    if os.name == "nt":
        return  # NTFS journals metadata; directories cannot be opened for fsync
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(
    path: Path, data: bytes, *, sync_dir: bool = True, failpoint_name: str | None = None
) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the whole new one.

    Raises `StorageError` when the disk refuses (full, read-only, no permission).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if failpoint_name:
            failpoint(failpoint_name)
        os.replace(tmp, path)
        if sync_dir:
            fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def candidate_names(folder: Path, name: str) -> Iterator[Path]:
    """`name`, then `stem_1.ext`, `stem_2.ext`, ... in `folder` (the collision-suffix order)."""
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    yield folder / name
    for n in itertools.count(1):
        yield folder / f"{stem}_{n}{dot}{ext}"


def unique_path(folder: Path, name: str, *, sidecar: str | None = None) -> Path:
    """The first of `candidate_names` that does not exist (nor, with `sidecar`, its companion)."""
    for candidate in candidate_names(folder, name):
        if not candidate.exists() and not (
            sidecar and candidate.with_name(candidate.name + sidecar).exists()
        ):
            return candidate
    raise AssertionError("unreachable")


def move_no_overwrite(
    source: Path, folder: Path, *, name: str | None = None, sidecar: str | None = None
) -> Path:
    """Move `source` into `folder` as `name` (default: its own name) or, if that is taken, a
    suffixed name; durable on return; never overwrites. Works across file systems.
    """
    folder.mkdir(parents=True, exist_ok=True)
    earlier = finish_interrupted_move(source, folder, name or source.name)
    if earlier is not None:
        return earlier
    while True:
        target = unique_path(folder, name or source.name, sidecar=sidecar)
        try:
            os.link(source, target)  # fails if the name was taken meanwhile: no overwrite
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
            try:
                _copy_no_overwrite(source, target)
            except FileExistsError:
                continue
        fsync_dir(folder)
        failpoint("mid_move")
        source.unlink()
        fsync_dir(source.parent)
        return target


def finish_interrupted_move(source: Path, folder: Path, name: str) -> Path | None:
    """If an earlier move of `source` into `folder` stopped between link and unlink (a crash),
    finish it and return where the file is; otherwise None."""
    earlier = _earlier_link(source, folder, name)
    if earlier is not None:
        source.unlink()
        fsync_dir(source.parent)
    return earlier


def _earlier_link(source: Path, folder: Path, name: str) -> Path | None:
    """The name in `folder` that is already a hard link to `source`, if any."""
    st = source.stat()
    if st.st_nlink < 2:
        return None
    for candidate in candidate_names(folder, name):
        try:
            other = candidate.stat()
        except FileNotFoundError:
            return None
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return candidate
    return None


def _copy_no_overwrite(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}{TMP_SUFFIX}")
    with source.open("rb") as src, tmp.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
        dst.flush()
        os.fsync(dst.fileno())
    try:
        os.link(tmp, target)
    finally:
        tmp.unlink()


def is_storage_error(exc: OSError) -> bool:
    """Errors that mean 'this disk cannot take writes now', not 'this file is bad'."""
    return exc.errno in STORAGE_ERRNOS
