"""Counters the service keeps about itself, for logs, `status` and metrics."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ConverterCounts:
    discovered: int = 0
    converted: int = 0
    failed: int = 0
    skipped: int = 0


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

    def counts(self, converter: str) -> ConverterCounts:
        return self.converters.setdefault(converter, ConverterCounts())

    def snapshot(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "converters": {n: vars(c).copy() for n, c in self.converters.items()},
            "submitted": self.submitted,
            "rejected": self.rejected,
            "submit_attempts": dict(self.submit_attempts),
            "last_submit_result": self.last_submit_result,
            "last_submit_at": self.last_submit_at,
            "last_error": self.last_error,
            "paused_reason": self.paused_reason,
            "storage_blocked": self.storage_blocked,
            "scans": self.scans,
        }
