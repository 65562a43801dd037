"""Outbox: the pending/ folder, where reports wait for the server (ADR 0003).

Per report two files, both written atomically (temp file, fsync, rename):

- `<id>.json.queued`: exactly the WSJF body to POST, nothing else (an operator can read it,
  `curl` it, or drop in one of their own);
- `<id>.json.meta`: what the service needs to finish the report's story after a restart: the
  source file it came from, the converter entry that made it, the error folder a rejection goes
  to, when it was first spooled and how many sends failed.

The meta file is written before the body and removed after it, so a `.queued` file always has
its meta (except one written by an older version: `recover` migrates those, see there), and a
meta without a body is a leftover that `recover` removes. Writers share one folder fsync
(`DirSync`): a burst of spools costs one directory fsync, not one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from wats_converter.errors import StorageError
from wats_converter.failpoints import failpoint
from wats_converter.storage.durable import TMP_SUFFIX, fsync_dir, write_atomic

log = logging.getLogger(__name__)
QUEUED_SUFFIX = ".json.queued"
META_SUFFIX = ".json.meta"
META_FORMAT = 1
T = TypeVar("T")


@dataclass
class OutboxEntry:
    """One report's metadata, as persisted beside its body."""

    report_id: str
    source: str = ""
    """The source file the report was converted from ("" if unknown)."""
    converter: str = ""
    """The converter entry (config `name`) that made it ("" if unknown)."""
    error_folder: str = ""
    """Where a rejection files it ("" = the service's default error folder)."""
    first_seen: float = field(default_factory=time.time)
    """Wall-clock time it was first spooled (for `retry.max_age_s` and `pending list`)."""
    attempts: int = 0
    """Sends that failed so far."""

    def to_json(self) -> bytes:
        return json.dumps({"format": META_FORMAT, **asdict(self)}, indent=1).encode()

    @classmethod
    def from_json(cls, report_id: str, data: bytes) -> OutboxEntry:
        doc: dict[str, Any] = json.loads(data)
        return cls(
            report_id=report_id,
            source=str(doc.get("source") or ""),
            converter=str(doc.get("converter") or ""),
            error_folder=str(doc.get("error_folder") or ""),
            first_seen=float(doc.get("first_seen") or time.time()),
            attempts=int(doc.get("attempts") or 0),
        )


class DirSync:
    """Coalesces folder fsyncs: concurrent writers share one fsync that covers all of them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._requested = 0
        self._synced = 0
        self._lock = asyncio.Lock()

    async def sync(self) -> None:
        self._requested += 1
        mine = self._requested
        async with self._lock:
            if self._synced >= mine:
                return
            upto = self._requested
            await asyncio.to_thread(fsync_dir, self.folder)
            self._synced = upto


class Outbox:
    """The pending/ folder's format; every blocking call runs in a thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._dir_sync = DirSync(folder)

    def body_path(self, report_id: str) -> Path:
        return body_path(self.folder, report_id)

    async def put(self, entries: list[tuple[OutboxEntry, bytes]]) -> None:
        """Write reports durably: metas, then bodies, then one folder fsync shared with every
        writer waiting with us. On an error some bodies may be in the folder (`exists`).

        Raises `StorageError` for every refusal of the disk (the folder cannot be made or
        synced, a write fails), so the caller stops intake instead of failing file by file."""
        try:
            await asyncio.to_thread(self._write, entries)
            await self._dir_sync.sync()
        except StorageError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot write to {self.folder}: {exc.strerror or exc}") from exc
        failpoint("after_spool_rename")

    def _write(self, entries: list[tuple[OutboxEntry, bytes]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)  # someone may have deleted the folder
        for entry, body in entries:
            meta, path = meta_path(self.folder, entry.report_id), self.body_path(entry.report_id)
            write_atomic(meta, entry.to_json(), sync_dir=False)
            try:
                write_atomic(path, body, sync_dir=False, failpoint_name="spool_before_rename")
            except BaseException:
                if not path.exists():  # no body: no meta either (never a leftover)
                    _unlink(meta)
                raise

    def exists(self, report_id: str) -> bool:
        return self.body_path(report_id).exists()

    async def read(self, report_id: str) -> bytes:
        """The body to POST (`FileNotFoundError` if someone removed it)."""
        return await asyncio.to_thread(self.body_path(report_id).read_bytes)

    async def note_attempts(self, entry: OutboxEntry) -> None:
        """Persist the failed-send count. Without a folder fsync: after a crash an older count
        is harmless (it only steers the backoff), and an outage would otherwise cost one
        folder fsync per failed send."""
        try:
            await asyncio.to_thread(
                write_atomic,
                meta_path(self.folder, entry.report_id),
                entry.to_json(),
                sync_dir=False,
            )
        except Exception as exc:  # the count is advisory; the report itself is safe
            log.debug("cannot update the metadata of report %s: %s", entry.report_id, exc)

    async def remove(self, report_id: str) -> None:
        """Drop a delivered report: body first, so a body never lacks its meta."""
        await asyncio.to_thread(self._remove, report_id)

    def _remove(self, report_id: str) -> None:
        _unlink(self.body_path(report_id))
        _unlink(meta_path(self.folder, report_id))

    async def take_out(self, report_id: str, move: Callable[[Path], T]) -> T:
        """Move a report's body out of the outbox with `move(body path)` (to an error folder),
        then drop its meta; one trip to a thread. `move`'s errors leave both in place."""
        return await asyncio.to_thread(self._take_out, report_id, move)

    def _take_out(self, report_id: str, move: Callable[[Path], T]) -> T:
        moved = move(self.body_path(report_id))
        _unlink(meta_path(self.folder, report_id))
        return moved

    def recover(self) -> list[OutboxEntry]:
        """Every report in the folder, oldest first; drops stale temps and orphan metas.

        Migration: a `.queued` file without meta was written by a version before ADR 0003; it
        gets a meta now (its source and converter unknown, rejections going to the default error
        folder, first seen at its modification time), and the count is logged once."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for tmp in self.folder.glob(f".*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()
        bodies = {report_id_of(p): p for p in self.folder.glob(f"*{QUEUED_SUFFIX}")}
        for meta in self.folder.glob(f"*{META_SUFFIX}"):
            if meta.name[: -len(META_SUFFIX)] not in bodies:
                with contextlib.suppress(OSError):
                    meta.unlink()  # a spool or a removal interrupted between its two files
        entries, migrated = [], []
        for report_id, body in bodies.items():
            entry = self._load(report_id, body)
            if entry is None:
                continue
            if not entry[1]:
                migrated.append(entry[0])
            entries.append(entry[0])
        if migrated:
            self._migrate(migrated)
        return sorted(entries, key=lambda e: e.first_seen)

    def entries(self, exclude: Collection[str] = ()) -> list[OutboxEntry]:
        """The reports in the folder except `exclude` (ids), without recovery's clean-up: for
        taking up reports put back while the service runs."""
        found = []
        for body in self.folder.glob(f"*{QUEUED_SUFFIX}"):
            report_id = report_id_of(body)
            if report_id not in exclude:
                entry = self._load(report_id, body)
                if entry is not None:
                    found.append(entry[0])
        return sorted(found, key=lambda e: e.first_seen)

    def _load(self, report_id: str, body: Path) -> tuple[OutboxEntry, bool] | None:
        """The entry and whether it had a meta; None if the body vanished meanwhile."""
        try:
            meta = meta_path(self.folder, report_id).read_bytes()
            return OutboxEntry.from_json(report_id, meta), True
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError) as exc:
            log.warning("metadata of pending report %s is unreadable (%s); rebuilt", report_id, exc)
        try:
            return OutboxEntry(report_id, first_seen=body.stat().st_mtime), False
        except OSError:
            return None

    def _migrate(self, entries: list[OutboxEntry]) -> None:
        log.info(
            "%d pending reports were written by an older version without metadata: they are "
            "sent as usual; if the server rejects one, it goes to the default error folder and "
            "its .error cannot name its source file",
            len(entries),
        )
        for entry in entries:
            try:
                path = meta_path(self.folder, entry.report_id)
                write_atomic(path, entry.to_json(), sync_dir=False)
            except Exception as exc:  # migrated again on the next start
                log.warning("cannot write metadata of pending report %s: %s", entry.report_id, exc)
        with contextlib.suppress(OSError):
            fsync_dir(self.folder)


def body_path(folder: Path, report_id: str) -> Path:
    """Where the body of `report_id` waits in the outbox `folder`."""
    return folder / f"{report_id}{QUEUED_SUFFIX}"


def meta_path(folder: Path, report_id: str) -> Path:
    return folder / f"{report_id}{META_SUFFIX}"


def queued_reports(folder: Path) -> list[Path]:
    """The bodies waiting in the outbox `folder` (for `pending list`; any order)."""
    return list(folder.glob(f"*{QUEUED_SUFFIX}"))


def report_id_of(path: Path) -> str:
    """The report id of a body path in an outbox."""
    return path.name[: -len(QUEUED_SUFFIX)] if path.name.endswith(QUEUED_SUFFIX) else path.stem


def put_back(folder: Path, report: Path, entry: OutboxEntry) -> Path:
    """Move a report file (a rejected one, from an error folder) back into the outbox `folder`
    with fresh metadata, for `errors requeue`; return its new path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(meta_path(folder, entry.report_id), entry.to_json())
    target = body_path(folder, entry.report_id)
    report.replace(target)
    fsync_dir(folder)
    return target


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
