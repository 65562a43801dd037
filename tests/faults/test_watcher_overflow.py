"""More files than the file-system event queue holds: the rescan still delivers every one.

As root the kernel's inotify queue is shrunk to 64 events for the test (restored after), so the
watcher really overflows; otherwise the burst is simply large.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.harness import single_converter, wait_until
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator

QUEUE_LIMIT = Path("/proc/sys/fs/inotify/max_queued_events")


@pytest.fixture
def tiny_inotify_queue() -> Iterator[bool]:
    try:
        old = QUEUE_LIMIT.read_text()
        QUEUE_LIMIT.write_text("64")
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        QUEUE_LIMIT.write_text(old)


def burst(tmp_path: Path, server: ServerThread, count: int) -> None:
    station = single_converter(
        tmp_path,
        server,
        action="DELETE",
        scan_interval_s=2.0,
        max_workers=2,
    )
    station.folder("watch")
    station.start()
    wait_until(lambda: "startup scan" in station.log(), 30, "started", station)
    TestFileGenerator.generate_batch(tmp_path / "watch", "csv", count, prefix="burst")
    wait_until(lambda: server.store.count() == count, 300, f"{count} reports", station)
    wait_until(lambda: station.files("watch") == [], 30, "watch folder empty", station)
    assert station.stop() == 0
    assert len(server.store.serial_counts()) == count


@pytest.mark.timeout(300)
def test_burst_beyond_the_event_queue_is_delivered_by_the_rescan(
    tmp_path: Path, server: ServerThread, tiny_inotify_queue: bool
) -> None:
    burst(tmp_path, server, 2000)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_8000_file_burst(tmp_path: Path, server: ServerThread, tiny_inotify_queue: bool) -> None:
    burst(tmp_path, server, 8000)
