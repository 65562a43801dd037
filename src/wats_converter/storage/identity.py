"""Which file a path names: the identity of the inode a conversion read.

A station may rename a new result onto the same name while the previous one is being delivered
(writing a fixed name by rename is what stations are told to do). Size and mtime alone cannot
tell the two apart (same size, same second), so a file is identified by its inode as well:
(device, inode, size, mtime_ns). Post-processing acts only on the inode that was converted.

Only regular files have an identity: a symlink, a FIFO or a device in a watch folder is never
read, so nobody who can write to a watch folder can make the service read another file.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from wats_converter.storage.journal import FileKey

# O_NOFOLLOW where the OS has it: opening a symlink fails instead of reading its target
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class SourceReplaced(Exception):
    """The file at the path is not the one that was converted (replaced, rewritten, gone)."""


@dataclass(frozen=True, slots=True)
class FileIdentity:
    dev: int
    ino: int
    size: int
    mtime_ns: int

    @property
    def key(self) -> FileKey:
        """(size, mtime_ns): what the journal records for kept files."""
        return (self.size, self.mtime_ns)

    @classmethod
    def of_stat(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def identity_of(path: Path) -> FileIdentity | None:
    """The identity of the regular file at `path` (not following a symlink); None when there is
    none: gone, unreadable, or not a regular file."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return FileIdentity.of_stat(st)


def open_regular(path: Path, expected: FileIdentity | None = None) -> int:
    """Open `path` for reading without following a symlink; with `expected`, only if it is still
    that inode. Raises `SourceReplaced` otherwise (and OSError as `os.open` does)."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceReplaced(f"{path} is a symbolic link") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (
        expected is not None and FileIdentity.of_stat(st) != expected
    ):
        os.close(fd)
        raise SourceReplaced(f"{path} is not the file that was converted")
    return fd


def check_unchanged(path: Path, expected: FileIdentity) -> None:
    """Raise `SourceReplaced` unless `path` still names the `expected` inode, unchanged."""
    if identity_of(path) != expected:
        raise SourceReplaced(f"{path} was replaced or changed after it was converted")


def held_open_for_writing(path: Path) -> bool | None:
    """Whether another process has `path` open for writing: True, False, or None where this OS
    does not let us see it.

    Linux: a read lease (`F_SETLEASE`, `F_RDLCK`) is granted only when no process has the file
    open for writing; it is one system call and is released at once. It needs the file's owner
    or CAP_LEASE and a local file system: elsewhere (another user's file on a share) the answer
    is None and the settle time alone decides.
    """
    if sys.platform != "linux":
        return None
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno in (errno.EAGAIN, errno.EBUSY) else None
    else:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)
