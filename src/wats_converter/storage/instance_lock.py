"""One service per data folder: a second one on the same folders refuses to start."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType

from wats_converter.errors import ConfigError

LOCK_FILE = "wats-converter.lock"


class InstanceLock:
    """An exclusive OS lock on `<state dir>/wats-converter.lock`, released when the process ends."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot create the lock file {self.path}: {exc.strerror}") from None
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            holder = self.path.read_text(errors="replace").strip() or "another process"
            raise ConfigError(
                f"another wats-converter (pid {holder}) is already running on {self.path.parent}; "
                "stop it first, or give this one its own folders"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def holder_running(state_dir: Path) -> bool:
    """Whether a service holds the lock of `state_dir` now (a status file can be stale).

    Takes and drops the lock at once when it is free; a service starting in that instant
    sees it held and says so, nothing is lost.
    """
    try:
        fd = os.open(state_dir / LOCK_FILE, os.O_RDWR)
    except OSError:
        return False  # never started here (or the folder is gone)
    try:
        _lock(fd)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def _lock(fd: int) -> None:
    # platform checks by sys.platform, so the type checker sees only this platform's branch
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class WatchFolderClaims:
    """A check that no other service watches the same folders: an exclusive `flock` on each
    watch folder itself (POSIX; nothing is written into the station's folder).

    Two services with their own data folders on one watch folder would both convert, deliver
    and post-process the same files (same report ids, so an overwrite on the server, but two
    archives); this cannot be prevented from one side, so it is reported loudly. Where folders
    cannot be locked (Windows, some network file systems) it is not checked.
    """

    def __init__(self, folders: list[Path]) -> None:
        self.folders = sorted(set(folders))
        self._fds: list[int] = []

    def claim(self) -> list[str]:
        """Lock every folder; return a warning for each one another service holds."""
        if sys.platform == "win32":
            return []
        import fcntl

        warnings = []
        for folder in self.folders:
            try:
                fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                warnings.append(
                    f"another wats-converter already watches {folder}: both convert and "
                    "post-process the same files (archived twice); stop one, or give each its "
                    "own folder"
                )
                continue
            except OSError:  # not lockable here: nothing to tell
                os.close(fd)
                continue
            self._fds.append(fd)
        return warnings

    def release(self) -> None:
        while self._fds:
            os.close(self._fds.pop())
