"""Counters the service keeps about itself, for logs, `status` and metrics (`status.Status`
is their snapshot)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ConverterCounts:
    discovered: int = 0
    converted: int = 0
    failed: int = 0
    skipped: int = 0


UNMATCHED_LISTED = 100  # status.json names this many; `wats-converter unmatched` lists all
DURATION_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)


@dataclass
class Histogram:
    """Bounded counts per upper bound (Prometheus style); never grows with the number of files."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS_S) + 1))
    total_s: float = 0.0

    def observe(self, seconds: float) -> None:
        index = next(
            (i for i, b in enumerate(DURATION_BUCKETS_S) if seconds <= b), len(DURATION_BUCKETS_S)
        )
        self.counts[index] += 1
        self.total_s += seconds

    def cumulative(self) -> tuple[list[tuple[str, int]], float]:
        """(upper bound, count of observations up to it) per bucket, and the sum."""
        bounds = [*(str(b) for b in DURATION_BUCKETS_S), "+Inf"]
        running, buckets = 0, []
        for bound, count in zip(bounds, self.counts, strict=True):
            running += count
            buckets.append((bound, running))
        return buckets, self.total_s


@dataclass
class ServiceStats:
    """Mutable counters; only the event loop thread writes them."""

    started_at: float = field(default_factory=time.time)
    converters: dict[str, ConverterCounts] = field(default_factory=dict)
    submitted: int = 0
    rejected: int = 0
    submit_attempts: Counter[str] = field(default_factory=Counter)
    last_submit_result: str = ""
    last_submit_at: float | None = None
    last_error: str = ""
    paused_reason: str = ""
    storage_blocked: str = ""
    scans: int = 0
    unmatched: list[str] = field(default_factory=list)
    """Files in watch folders no converter claims (left in place), as of the last scan."""
    unmatched_to_error: int = 0
    """Unmatched files moved to an error folder (`unmatched: error`) since the start."""
    conversion_seconds: Histogram = field(default_factory=Histogram)
    submit_seconds: Histogram = field(default_factory=Histogram)
    """Every POST of a report, answered or not (a timeout counts its full wait)."""

    def counts(self, converter: str) -> ConverterCounts:
        return self.converters.setdefault(converter, ConverterCounts())


@dataclass(frozen=True)
class RunResult:
    """What a run did, for `run --once`'s summary line and exit code."""

    converted: int
    failed: int
    pending: int
    unmatched: int = 0
    """Files no converter claims, left in place or moved to error/ (then also in `failed`)."""

    @classmethod
    def tally(cls, stats: ServiceStats, *, pending: int, unmatched: int) -> RunResult:
        """The result from the counters; `pending`: reports still queued, `unmatched`: files
        the last scan left in place."""
        counts = stats.converters.values()
        moved = stats.unmatched_to_error
        return cls(
            converted=sum(c.converted for c in counts),
            failed=sum(c.failed for c in counts) + stats.rejected + moved,
            pending=pending,
            unmatched=unmatched + moved,
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.failed == 0 and self.pending == 0 else 1
