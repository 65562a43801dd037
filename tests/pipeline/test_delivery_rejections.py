"""Filing a report the server refused: an error folder that cannot take it, and the event loop.

Bugs 3 and 4 of issue 19: `quarantine` raises `StorageError` on a full disk, which escaped the
rejection as "unexpected error" (and out of `deliver`, blocking intake as if pending/ were full);
and it ran two fsyncs and a rename on the event loop, stalling every other report meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from tests.faults.scenario import tiny_tmpfs
from tests.pipeline.test_delivery_decisions import make, rejected_report, report, running, until
from wats_converter import failpoints
from wats_converter.errors import StorageError
from wats_converter.pipeline.delivery import Origin
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import ManualClock


def fill(path: Path) -> Path:
    """Write `path` until its file system is full (the kernel's own ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        return path
    finally:
        os.close(fd)


async def test_a_full_error_folder_keeps_the_rejected_report_pending_and_files_it_later(
    tmp_path: Path, server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    with tiny_tmpfs(tmp_path / "full-errors", "64k") as folder:
        filler = fill(folder / "filler")
        clock = ManualClock()
        delivery = make(tmp_path, server, clock)
        report_id, bad = rejected_report("NO-ROOM")
        origin = Origin("/station/unit.json", "Line 3", folder)
        async with running(delivery):
            # refused on the direct send: deliver still hands the report over (it is safe in
            # pending/), it does not fail as if the outbox were full
            assert await delivery.deliver([(report_id, bad)], origin) == 0
            assert len(delivery) == 1 and delivery.outbox.exists(report_id)
            assert "cannot move it to" in caplog.text and "unexpected error" not in caplog.text
            filler.unlink()
            await clock.advance(20)  # its backoff: the server refuses it again, now it is filed
            await until(lambda: len(delivery) == 0, "filed once there is room")
        error = json.loads((folder / f"{report_id}.json.error").read_text())
        assert error["error_type"] == "ReportRejected" and error["converter"] == "Line 3"
        assert "Traceback" not in caplog.text
        assert list((tmp_path / "pending").iterdir()) == []


async def test_filing_a_rejected_report_does_not_stall_the_event_loop(
    tmp_path: Path, server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a slow disk: the move into the error folder takes 0.4 s
    monkeypatch.setattr(failpoints, "_armed", failpoints._Armed("mid_move=sleep:0.4"))
    delivery = make(tmp_path, server, ManualClock())
    report_id, bad = rejected_report("SLOW-DISK")
    stalls: list[float] = []

    async def heartbeat() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0)
            stalls.append(time.monotonic() - before)

    beat = asyncio.create_task(heartbeat())
    try:
        async with running(delivery):
            assert await delivery.deliver([(report_id, bad)]) == 0
        await asyncio.sleep(0)  # the heartbeat notes its last gap
    finally:
        beat.cancel()
    assert (tmp_path / "error" / f"{report_id}.json.error").exists()
    assert max(stalls) < 0.3, f"the event loop stood still for {max(stalls):.2f} s"


async def test_an_outbox_folder_that_cannot_be_made_is_a_storage_error(
    tmp_path: Path, server: ServerThread
) -> None:
    # review finding: mkdir and the folder fsync raised a bare OSError, which the pool took for
    # an unexpected error (a traceback per file, and status never said the disk was the problem)
    clock = ManualClock()
    delivery = make(tmp_path, server, clock)
    (tmp_path / "pending").write_bytes(b"not a folder")  # an operator's mistake, say
    server.stop_listening()  # nothing is accepted directly: the report must be spooled
    async with running(delivery):
        with pytest.raises(StorageError, match="pending"):
            await delivery.deliver([report("NO-OUTBOX")], Origin("/station/u.json", "csv"))
    server.resume_listening()
