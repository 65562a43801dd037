"""Crash-safe file operations: atomic writes, no-overwrite moves, directory fsyncs.

Every write that the delivery promise depends on goes through here: temp file in the same folder,
write, fsync, rename, fsync the folder. A move never overwrites: a name collision gets a suffix.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from wats_converter.errors import StorageError
from wats_converter.failpoints import failpoint
from wats_converter.storage.identity import (
    FileIdentity,
    SourceReplaced,
    check_unchanged,
    open_regular,
)

log = logging.getLogger(__name__)
TMP_SUFFIX = ".tmp"
# a temp name keeps a short head of the target's name (for a reader of the folder) within
# every file system's 255-byte limit, whatever the length of the target's name
TMP_HEAD_BYTES = 100
NAME_MAX_BYTES = 255  # ext4, XFS, btrfs, NTFS (in UTF-16 units), FAT (LFN)
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


def temp_path(folder: Path, name: str) -> Path:
    """A temp name in `folder` for writing `name`: hidden, unique to this call (pid and random),
    so two writers of same-named files never share one, and ignored by every watch pattern."""
    head = os.fsencode(name)[:TMP_HEAD_BYTES].decode("utf-8", "ignore") or "f"
    return folder / f".{head}.{os.getpid()}.{secrets.token_hex(6)}{TMP_SUFFIX}"


def remove_stale_temps(folders: Iterable[Path]) -> None:
    """Remove the temp files an interrupted write left in `folders` (the service's own output
    folders only: a temp-like name in a watch folder is a user's file)."""
    for folder in folders:
        for tmp in folder.glob(f".*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                log.info("removed %s left by an interrupted write", tmp)


def write_atomic(
    path: Path, data: bytes, *, sync_dir: bool = True, failpoint_name: str | None = None
) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the whole new one.

    Raises `StorageError` when the disk refuses (full, read-only, no permission).
    """
    tmp = temp_path(path.parent, path.name)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
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


def write_private(path: Path, data: bytes) -> None:
    """Write a secret (a token, a config holding one) readable by its owner only (0600), from
    its first byte on: the temp file is created 0600, never widened."""
    tmp = temp_path(path.parent, path.name)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def fit_name(name: str, reserve: int = 0) -> str:
    """`name`, its stem shortened (never its extension) so that it and `reserve` more bytes fit
    in a file system's 255-byte name limit: a station's 255-byte name still gets its `.zip`,
    its `.error` sidecar and its collision suffix."""
    raw = os.fsencode(name)
    room = NAME_MAX_BYTES - reserve
    if len(raw) <= room:
        return name
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    tail = os.fsencode(dot + ext)
    if len(tail) > room // 2:  # an absurd "extension": keep the head of the whole name instead
        stem, tail = name, b""
    head = os.fsencode(stem)[: max(1, room - len(tail))]
    while len(head) > 1 and head[-1] & 0xC0 == 0x80:  # never cut a UTF-8 character in two
        head = head[:-1]
    if len(head) > 1 and head[-1] >= 0xC0:
        head = head[:-1]
    return os.fsdecode(head) + os.fsdecode(tail)


def candidate_names(folder: Path, name: str, reserve: int = 0) -> Iterator[Path]:
    """`name`, then `stem_1.ext`, `stem_2.ext`, ... in `folder` (the collision-suffix order),
    each short enough to leave `reserve` bytes (a sidecar's suffix) within the name limit."""
    name = fit_name(name, reserve)
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    yield folder / name
    for n in itertools.count(1):
        suffix = f"_{n}{dot}{ext}"
        yield folder / (fit_name(stem, reserve + len(os.fsencode(suffix))) + suffix)


def unique_path(folder: Path, name: str, *, sidecar: str | None = None) -> Path:
    """The first of `candidate_names` that does not exist (nor, with `sidecar`, its companion)."""
    reserve = len(sidecar.encode()) if sidecar else 0
    for candidate in candidate_names(folder, name, reserve):
        if not os.path.lexists(candidate) and not (
            sidecar and candidate.with_name(candidate.name + sidecar).exists()
        ):
            return candidate
    raise AssertionError("unreachable")


def move_no_overwrite(
    source: Path,
    folder: Path,
    *,
    name: str | None = None,
    sidecar: str | None = None,
    expected: FileIdentity | None = None,
) -> Path:
    """Move `source` into `folder` as `name` (default: its own name) or, if that is taken, a
    suffixed name; durable on return; never overwrites. Works across file systems.

    With `expected`, only that inode is moved (`SourceReplaced` if the path names another
    file); a source replaced after it was linked or copied is left in place, and the move of
    the expected file counts as done.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if expected is not None:
        check_unchanged(source, expected)
    reserve = len(sidecar.encode()) if sidecar else 0
    earlier = finish_interrupted_move(
        source, folder, name or source.name, expected, reserve=reserve
    )
    if earlier is not None:
        return earlier
    target = _place(source, folder, name or source.name, sidecar, expected)
    fsync_dir(folder)
    failpoint("mid_move")
    if expected is None or _still(source, expected):
        source.unlink()
        fsync_dir(source.parent)
    return target


def _place(
    source: Path, folder: Path, name: str, sidecar: str | None, expected: FileIdentity | None
) -> Path:
    """Link `source` (or copy it, across file systems) to the first free name in `folder`;
    never over a file that takes the name meanwhile."""
    while True:
        target = unique_path(folder, name, sidecar=sidecar)
        try:
            _link_or_copy(source, target, expected)
        except FileExistsError:
            continue  # taken between the look and the link: the next name
        return target


def _link_or_copy(source: Path, target: Path, expected: FileIdentity | None) -> None:
    """`target` as a new name of `source` (`FileExistsError` if it exists), or a durable copy
    where a hard link cannot be made."""
    try:
        os.link(source, target, follow_symlinks=False)  # no overwrite if the name was taken
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise  # FileExistsError among them
        _copy_no_overwrite(source, target, expected)
        return
    linked = os.lstat(target)
    if expected is not None and (linked.st_dev, linked.st_ino) != (expected.dev, expected.ino):
        target.unlink()  # another file took the name between the check and the link
        raise SourceReplaced(f"{source} was replaced while it was moved")


def _still(source: Path, expected: FileIdentity) -> bool:
    try:
        check_unchanged(source, expected)
    except SourceReplaced:
        return False
    return True


def finish_interrupted_move(
    source: Path,
    folder: Path,
    name: str,
    expected: FileIdentity | None = None,
    *,
    reserve: int = 0,
) -> Path | None:
    """If an earlier move of `source` into `folder` stopped between link and unlink (a crash),
    finish it and return where the file is; otherwise None."""
    earlier = _earlier_link(source, folder, name, reserve)
    if earlier is not None and expected is not None and not _still(source, expected):
        return None
    if earlier is not None:
        source.unlink()
        fsync_dir(source.parent)
    return earlier


def _earlier_link(source: Path, folder: Path, name: str, reserve: int) -> Path | None:
    """The name in `folder` that is already a hard link to `source`, if any."""
    st = source.lstat()
    if st.st_nlink < 2 or not stat.S_ISREG(st.st_mode):
        return None
    for candidate in candidate_names(folder, name, reserve):
        try:
            other = candidate.lstat()
        except FileNotFoundError:
            return None
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return candidate
    return None


def _copy_no_overwrite(source: Path, target: Path, expected: FileIdentity | None) -> None:
    """Copy across file systems: a regular file only (never a symlink's target), with its
    permission bits (a 0600 source stays 0600), through a temp name of its own; the temp is
    removed whatever happens, also when the disk is full."""
    tmp = temp_path(target.parent, target.name)
    with os.fdopen(open_regular(source, expected), "rb") as src:
        mode = stat.S_IMODE(os.fstat(src.fileno()).st_mode)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                dst.flush()
                with contextlib.suppress(OSError):  # a file system without modes (FAT)
                    os.fchmod(dst.fileno(), mode)
                os.fsync(dst.fileno())
            os.link(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def is_storage_error(exc: OSError) -> bool:
    """Errors that mean 'this disk cannot take writes now', not 'this file is bad'."""
    return exc.errno in STORAGE_ERRNOS
