"""The heartbeat: a chore that fails does not keep the others from their turn, and is said once.

A flush that writes to a real SQLite database set read-only (as a broken disk), a real systemd notify socket (a Unix
datagram socket standing in for systemd's), the real status file."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from pathlib import Path

import pytest

from wats_converter.heartbeat import Heartbeat
from wats_converter.stats import ServiceStats
from wats_converter.status import Queues, Status, read_status, request_retry


def test_a_journal_that_cannot_be_written_stops_neither_status_nor_watchdog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(tmp_path / "notify"))
    systemd.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000")  # a ping at every beat
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    journal = sqlite3.connect(tmp_path / "journal.sqlite")
    journal.execute("CREATE TABLE attempts (path TEXT)")
    journal.commit()
    journal.execute("PRAGMA query_only = 1")  # every write now fails, as on a broken disk

    def flush() -> None:
        journal.execute("INSERT INTO attempts VALUES ('a.csv')")
        journal.commit()

    retried: list[str | None] = []

    def retry_now(report_id: str | None) -> int:
        retried.append(report_id)
        return 1

    stats = ServiceStats()
    stats.last_error = "journal: attempt to write a readonly database"
    beat = Heartbeat(
        tmp_path,
        lambda: Status.capture(stats, Queues(queued=3), server_url="u", health_url="h"),
        flush=flush,
        retry_now=retry_now,
    )
    request_retry(tmp_path, "0b5f6a52-3d5e-4b7e-9a36-0d1f8a2c4e61")

    async def three_beats() -> None:
        for _ in range(3):
            await beat.beat()

    with caplog.at_level(logging.INFO, logger="wats_converter.heartbeat"):
        asyncio.run(three_beats())

    status = read_status(tmp_path)
    assert status is not None
    assert status.queued == 3
    assert status.last_error == "journal: attempt to write a readonly database"
    assert [systemd.recv(64) for _ in range(3)] == [b"WATCHDOG=1"] * 3
    assert retried == ["0b5f6a52-3d5e-4b7e-9a36-0d1f8a2c4e61"]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1  # once, not every second
    assert "cannot flush the journal" in failures[0].getMessage()
    assert "readonly" in failures[0].getMessage()

    journal.execute("PRAGMA query_only = 0")  # the disk is back
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wats_converter.heartbeat"):
        asyncio.run(beat.beat())
    assert [r.getMessage() for r in caplog.records] == ["could flush the journal again"]
    assert journal.execute("SELECT count(*) FROM attempts").fetchone() == (1,)
    systemd.close()
