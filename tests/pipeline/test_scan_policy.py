"""The scan policy in-process (`Scanner` on the `pool_station` rig, the manual clock): a periodic
rescan skips folders whose entries did not change, so a file rewritten in place without its
watcher event waits for a full scan; a watcher failure makes the next scan full, and now.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from tests.pipeline.pool_station import Station, station
from wats_converter.pipeline.scanner import SECOND_LOOK_S, Scanner, ScanStats
from wats_converter.testing import ServerThread, TestFileGenerator


class ObservedScanner(Scanner):
    """The real scanner; it tells the test when each scan is done."""

    def __init__(self, st: Station) -> None:
        super().__init__(st.config, st.pool.slots, st.pool, st.journal, st.pool.stats)
        self.station = st
        self.done = asyncio.Event()
        self.last = ScanStats()

    async def scan(self, *, startup: bool = False) -> ScanStats:
        self.last = await super().scan(startup=startup)
        self.done.set()
        return self.last

    async def after(self, seconds: float) -> ScanStats:
        """Let `seconds` pass; the scan that comes then, once the workers are done with it."""
        self.done.clear()
        await self.station.clock.advance(seconds)
        await self.done.wait()
        await self.station.queue.quiet()
        return self.last


def written_ago(path: Path, seconds: float) -> None:
    at = time.time() - seconds
    os.utime(path, (at, at))


async def test_a_watcher_failure_makes_the_next_scan_full_and_at_once(
    tmp_path: Path, server: ServerThread
) -> None:
    entry = {"post_process_action": "KEEP"}
    async with station(tmp_path, server, entry=entry, scan_interval_s=30) as st:
        path = st.drop("result.csv", "SN-FIRST")
        written_ago(st.watch, 60)  # the folder's entries last changed a minute ago
        scanner = ObservedScanner(st)
        await scanner.scan(startup=True)
        await st.queue.quiet()
        assert st.serials() == {"SN-FIRST": 1}
        rescans = asyncio.create_task(scanner.run())
        try:
            # the station rewrites the file in place (no new entry), and no event arrives
            path.write_text(TestFileGenerator.csv_text("SN-AGAIN"))
            written_ago(path, 30)  # settled; the folder's own mtime does not change
            second_look = await scanner.after(SECOND_LOOK_S)
            periodic = await scanner.after(30)
            assert (second_look.unchanged_folders, periodic.unchanged_folders) == (1, 1)
            assert st.serials() == {"SN-FIRST": 1}  # skipped: the folder did not change
            scanner.watcher_failed()
            full = await scanner.after(0)  # no time passes: the failure asks for a scan now
            assert full.unchanged_folders == 0 and full.queued == 1
            assert st.serials() == {"SN-FIRST": 1, "SN-AGAIN": 1}
            assert st.names(st.watch) == {"result.csv"}  # KEEP: it stays, recorded
        finally:
            rescans.cancel()
