"""What a running service says about itself, and the one request an operator can leave it.

`Status` is the typed snapshot: the service takes it on the event loop once a second, writes it
to `status.json` in the state folder (atomically), serves it as metrics (`health.py`) and
`wats-converter status` reads it back. `retry-now` in the same folder is the request of
`pending retry`: the service takes (removes) it within a second and sends what it names.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wats_converter.stats import UNMATCHED_LISTED, ConverterCounts, Histogram, ServiceStats
from wats_converter.storage.durable import temp_path

STATUS_FILE = "status.json"
RETRY_REQUEST = "retry-now"
ALL_PENDING = "*"


@dataclass(frozen=True)
class Buckets:
    """A histogram as Prometheus takes it: cumulative counts per upper bound, and the sum."""

    buckets: list[tuple[str, int]]
    sum: float

    @classmethod
    def of(cls, histogram: Histogram) -> Buckets:
        return cls(*histogram.cumulative())


@dataclass(frozen=True)
class Queues:
    """The live numbers of the queues (read on the event loop only: it changes them)."""

    queued: int = 0
    in_work: int = 0
    pending: int = 0
    pending_oldest_age_s: float = 0.0
    paused: bool = False


@dataclass(frozen=True)
class Status:
    """One snapshot of a running service (the content of `status.json`)."""

    pid: int
    updated_at: float
    started_at: float
    server_url: str
    health_url: str
    queued: int
    in_work: int
    pending: int
    pending_oldest_age_s: float
    paused: bool
    paused_reason: str
    storage_blocked: str
    submitted: int
    rejected: int
    submit_attempts: dict[str, int]
    last_submit_result: str
    last_submit_at: float | None
    last_error: str
    scans: int
    converters: dict[str, ConverterCounts]
    unmatched: int
    """Files in watch folders no converter claims, as of the last scan."""
    unmatched_to_error: int
    conversion_seconds: Buckets
    submit_seconds: Buckets
    unmatched_files: list[str] = field(default_factory=list)
    """The first `UNMATCHED_LISTED` of them (`wats-converter unmatched` lists all)."""
    cluster: dict[str, Any] | None = None
    """Cluster mode: the cluster as this node sees it (`ClusterNode.snapshot`)."""

    @classmethod
    def capture(
        cls,
        stats: ServiceStats,
        queues: Queues,
        *,
        server_url: str,
        health_url: str,
        cluster: dict[str, Any] | None = None,
    ) -> Status:
        return cls(
            pid=os.getpid(),
            updated_at=time.time(),
            started_at=stats.started_at,
            server_url=server_url,
            health_url=health_url,
            **asdict(queues),
            paused_reason=stats.paused_reason,
            storage_blocked=stats.storage_blocked,
            submitted=stats.submitted,
            rejected=stats.rejected,
            submit_attempts=dict(stats.submit_attempts),
            last_submit_result=stats.last_submit_result,
            last_submit_at=stats.last_submit_at,
            last_error=stats.last_error,
            scans=stats.scans,
            converters={n: ConverterCounts(**vars(c)) for n, c in stats.converters.items()},
            unmatched=len(stats.unmatched),
            unmatched_to_error=stats.unmatched_to_error,
            conversion_seconds=Buckets.of(stats.conversion_seconds),
            submit_seconds=Buckets.of(stats.submit_seconds),
            unmatched_files=stats.unmatched[:UNMATCHED_LISTED],
            cluster=cluster,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Status:
        """The status a service wrote; ValueError if it is not one (another version's)."""
        try:
            return cls(
                **{
                    **data,
                    "converters": {n: ConverterCounts(**c) for n, c in data["converters"].items()},
                    "conversion_seconds": _buckets(data["conversion_seconds"]),
                    "submit_seconds": _buckets(data["submit_seconds"]),
                }
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a status snapshot: {exc}") from None


def _buckets(data: dict[str, Any]) -> Buckets:
    return Buckets([(str(b), int(n)) for b, n in data["buckets"]], float(data["sum"]))


def write_status(state_dir: Path, status: Status) -> None:
    """Replace `status.json` atomically (a reader never sees half a file); a failure to write
    is left for the next second's attempt."""
    path = state_dir / STATUS_FILE
    tmp = temp_path(state_dir, STATUS_FILE)
    try:
        tmp.write_text(json.dumps(status.to_dict(), indent=1))
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            tmp.unlink()


def read_status(state_dir: Path) -> Status | None:
    """The last status a service wrote there; None if there is none (or not a readable one)."""
    try:
        data = json.loads((state_dir / STATUS_FILE).read_text())
        return Status.from_dict(data) if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def request_retry(state_dir: Path, report_id: str | None) -> Path:
    """Ask a running service to send one (or every) pending report now."""
    path = state_dir / RETRY_REQUEST
    path.write_text(report_id or ALL_PENDING)
    return path


def take_retry_request(state_dir: Path) -> str | None:
    """The request left by `request_retry`, removed; `ALL_PENDING` for every report, None if
    there is no request."""
    request = state_dir / RETRY_REQUEST
    try:
        target = request.read_text().strip()
        request.unlink()
    except OSError:
        return None
    return target or ALL_PENDING
