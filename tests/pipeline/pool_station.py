"""A worker pool wired as the service wires it, on real folders, the real journal and delivery
to the local server, with a `FakeRunner` and a `ManualClock`: the rig of the in-process decision
tests (`async with station(tmp_path, server) as st: ...`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wats_converter.config import Config
from wats_converter.converters.registry import build_slots
from wats_converter.pipeline.delivery import Delivery
from wats_converter.pipeline.error_folder import read_error
from wats_converter.pipeline.post_process import PostProcessor
from wats_converter.pipeline.work_queue import WorkQueue
from wats_converter.pipeline.worker_pool import WorkerPool
from wats_converter.stats import ServiceStats
from wats_converter.storage.journal import Journal
from wats_converter.testing import (
    FakeRunner,
    ManualClock,
    ServerThread,
    TestFileGenerator,
    station_config,
)
from wats_converter.wats_client import WatsClient

SETTLE_S = 2.0
# a settling file is looked at again settle_s after its mtime (a few real milliseconds before the
# pool first saw it), then once more this soon, when it has been seen unchanged for settle_s
RELOOK_S = 0.01


@dataclass
class Station:
    """One worker pool wired as the service wires it, with time in the test's hands."""

    config: Config
    clock: ManualClock
    queue: WorkQueue
    runner: FakeRunner
    pool: WorkerPool
    journal: Journal
    server: ServerThread

    @property
    def watch(self) -> Path:
        return self.config.converters[0].watch_folder

    @property
    def done(self) -> Path:
        folder = self.config.converters[0].done_folder
        assert folder is not None
        return folder

    @property
    def error(self) -> Path:
        folder = self.config.converters[0].error_folder
        assert folder is not None
        return folder

    def drop(self, name: str, sn: str, *, age_s: float = 60.0) -> Path:
        """A station's result file, last written `age_s` ago (by the wall clock, as mtimes are)."""
        path = self.watch / name
        path.write_text(TestFileGenerator.csv_text(sn))
        written = time.time() - age_s
        os.utime(path, (written, written))
        return path

    async def after(self, seconds: float = 0.0) -> None:
        """Let `seconds` pass, then wait until the workers have done all they can now."""
        await self.clock.advance(seconds)
        await self.queue.quiet()

    def serials(self) -> dict[str, int]:
        """The serial numbers the server stored, with how many reports each."""
        return self.server.store.serial_counts()

    def error_of(self, name: str) -> dict[str, Any]:
        return read_error(self.error / f"{name}.error")

    def names(self, folder: Path) -> set[str]:
        return {p.name for p in folder.iterdir()} if folder.exists() else set()


@contextlib.asynccontextmanager
async def station(
    folder: Path, server: ServerThread, journal: Journal | None = None, **top: Any
) -> AsyncIterator[Station]:
    config = station_config(
        folder,
        {"class_name": "CSVConverter", **top.pop("entry", {})},
        server={"url": server.url, "token": server.token},
        settle_s=SETTLE_S,
        **top,
    )
    config.converters[0].watch_folder.mkdir(exist_ok=True)
    slots = build_slots(config)
    journal = journal or Journal(config.state_dir / "journal.sqlite")
    clock, stats, runner = ManualClock(), ServiceStats(), FakeRunner([s.converter for s in slots])
    client = WatsClient(server.url, server.token)
    delivery = Delivery(
        config.pending_folder,
        client,
        retry=config.retry,
        error_folder=config.error_folder,
        stats=stats,
        clock=clock,
    )
    delivery.recover()
    queue = WorkQueue(clock)
    post = PostProcessor(journal, config.archive_folder)
    pool = WorkerPool(config, slots, queue, runner, delivery, post)
    tasks = [asyncio.create_task(delivery.run()), asyncio.create_task(pool.run())]
    try:
        await clock.advance(0)  # both running, as in the service, before the first file
        yield Station(config, clock, queue, runner, pool, journal, server)
    finally:
        for task in reversed(tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.aclose()
