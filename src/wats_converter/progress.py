"""Progress of `run --once` over a backlog: a live bar on a terminal, a summary line elsewhere.

On a terminal (rich) the bar with rate and ETA stays at the bottom and log records print above
it, through a handler on the same console. Off a terminal (CI, a pipe, a log file) a one-line
summary every `SUMMARY_EVERY_S` says how far it got, so 2,000 files are not 2,000 lines.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

SUMMARY_EVERY_S = 5.0

Counts = Callable[[], tuple[int, int]]
"""(pending reports, failed files) at this moment."""


class RateColumn(ProgressColumn):
    """Files per second, averaged by rich over the last few updates."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:.0f} files/s", style="progress.data.speed")


class TerminalBar:
    """The live bar; `log_handler` prints records above it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.console = Console(file=stream or sys.stderr)
        self._progress = Progress(
            TextColumn("converting"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task = self._progress.add_task("files", total=None)
        self.log_handler: logging.Handler = RichHandler(
            console=self.console, show_path=False, markup=False, log_time_format="%H:%M:%S"
        )
        self.log_handler.setFormatter(logging.Formatter("%(message)s"))  # rich adds time, level

    def update(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def __enter__(self) -> TerminalBar:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()


class PeriodicSummary:
    """`progress: 1200/2000 files (60 %), 85 files/s, 3 pending, 2 failed, ETA 9 s`."""

    def __init__(
        self,
        counts: Counts,
        *,
        every_s: float = SUMMARY_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counts = counts
        self.every_s = every_s
        self.clock = clock
        self.started = clock()
        self._last = self.started
        self._finished = False
        self._log = logging.getLogger("wats_converter.progress")

    def update(self, done: int, total: int) -> None:
        now = self.clock()
        if self._finished or (now - self._last < self.every_s and done < total):
            return
        self._last = now
        self._finished = done >= total  # the final line once, not on every later call
        self._log.info("%s", self.line(done, total, now))

    def line(self, done: int, total: int, now: float) -> str:
        pending, failed = self.counts()
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        share = f" ({100 * done // total} %)" if total else ""
        eta = f", ETA {(total - done) / rate:.0f} s" if rate > 0 and done < total else ""
        return (
            f"progress: {done}/{total} files{share}, {rate:.0f} files/s, "
            f"{pending} pending, {failed} failed{eta}"
        )

    def __enter__(self) -> PeriodicSummary:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
