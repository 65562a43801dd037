"""The optional health and metrics endpoint (loopback by default, off unless configured).

`/health`: the process is alive. `/ready`: it can make progress (submission not paused, the
server answered the last post, the disk accepts writes, pending below a threshold).
`/metrics`: Prometheus text, computed from the service's counters at scrape time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import platform
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.registry import Collector

from wats_converter import __version__
from wats_converter.cluster.view import metric_families
from wats_converter.config import HealthConfig
from wats_converter.status import Status

log = logging.getLogger(__name__)
Snapshot = Callable[[], Status]
Count = Callable[[], int]


class ServiceCollector(Collector):
    """Turns a status snapshot into metric families (no process-global registry)."""

    def __init__(self, snapshot: Snapshot, error_files: Count | None = None) -> None:
        self.snapshot = snapshot
        self.error_files = error_files

    def collect(self) -> Iterator[Any]:
        s = self.snapshot()
        yield InfoMetricFamily(
            "wats_build",
            "the running wats-converter",
            value={"version": __version__, "python": platform.python_version()},
        )
        per_converter = {
            "discovered": "files seen in a watch folder",
            "converted": "files converted and handed over (to the server or pending/)",
            "failed": "files moved to the error folder",
            "skipped": "files a converter skipped",
        }
        for key, text in per_converter.items():
            family = CounterMetricFamily(f"wats_files_{key}", text, labels=["converter"])
            for name, counts in s.converters.items():
                family.add_metric([name], getattr(counts, key))
            yield family
        attempts = CounterMetricFamily(
            "wats_submit_attempts", "report submissions by outcome", labels=["outcome"]
        )
        for outcome, n in s.submit_attempts.items():
            attempts.add_metric([outcome], n)
        yield attempts
        for name, hist, text in (
            ("wats_conversion_duration_seconds", s.conversion_seconds, "time to convert a file"),
            ("wats_submit_duration_seconds", s.submit_seconds, "time of one report POST"),
        ):
            yield HistogramMetricFamily(name, text, buckets=hist.buckets, sum_value=hist.sum)
        if self.error_files is not None:
            yield GaugeMetricFamily(
                "wats_error_files",
                "files and reports in the error folders (each with its .error)",
                value=self.error_files(),
            )
        for name, value, text in (
            ("wats_pending_reports", s.pending, "reports waiting for the server"),
            ("wats_pending_oldest_age_seconds", s.pending_oldest_age_s, "oldest pending report"),
            ("wats_queue_depth", s.queued, "files waiting to be converted"),
            ("wats_files_in_work", s.in_work, "files being converted"),
            ("wats_submission_paused", int(s.paused), "1 while the server refuses this client"),
            ("wats_storage_blocked", int(bool(s.storage_blocked)), "1 while the disk refuses"),
            ("wats_unmatched_files", s.unmatched, "files in watch folders no converter claims"),
        ):
            yield GaugeMetricFamily(name, text, value=value)
        if s.cluster is not None:
            yield from metric_families(s.cluster)


class HealthServer:
    """`/health`, `/ready` and `/metrics` on their own port (process metrics included)."""

    def __init__(
        self, snapshot: Snapshot, ready_max_pending: int, error_files: Count | None = None
    ) -> None:
        self.snapshot = snapshot
        self.ready_max_pending = ready_max_pending
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ServiceCollector(snapshot, error_files))
        ProcessCollector(registry=self.registry)  # CPU, memory, open files (Linux /proc)
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/ready", self._ready)
        app.router.add_get("/metrics", self._metrics)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self.url = ""
        self._listener: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> str:
        await self.runner.setup()
        assert self.runner.server is not None
        self._listener = await asyncio.get_running_loop().create_server(
            self.runner.server, host, port, reuse_address=True
        )
        self.url = f"http://{host}:{self._listener.sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        await self.runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _ready(self, request: web.Request) -> web.Response:
        s = self.snapshot()
        problems = []
        if s.paused:
            problems.append(f"submission paused: {s.paused_reason}")
        if s.storage_blocked:
            problems.append(f"disk: {s.storage_blocked}")
        last = s.last_submit_result
        if last.startswith("failed") and s.pending:
            # the last post could not reach the server (refused, timeout, 5xx): reports pile up
            problems.append(f"server unavailable: {last.removeprefix('failed: ')}")
        if s.pending > self.ready_max_pending:
            problems.append(f"{s.pending} reports pending (more than {self.ready_max_pending})")
        body = {"ready": not problems, "problems": problems, "pending": s.pending}
        return web.json_response(
            body, status=200 if not problems else 503, dumps=lambda o: json.dumps(o, indent=1)
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), content_type="text/plain", charset="utf-8"
        )


async def open_health(
    stack: contextlib.AsyncExitStack,
    cfg: HealthConfig,
    snapshot: Snapshot,
    error_files: Count,
    *,
    any_port: bool,
) -> str:
    """Start the health server if enabled, its stop pushed on `stack`; return its URL or "".
    `any_port` (zero-config): a taken port falls back to any free one."""
    if not cfg.enabled:
        return ""
    health = HealthServer(snapshot, cfg.ready_max_pending, error_files=error_files)
    try:
        url = await health.start(cfg.host, cfg.port)
    except OSError:
        if not any_port:
            raise  # a configured port that is taken is the operator's to fix
        url = await health.start(cfg.host, 0)
    stack.push_async_callback(health.stop)  # stopped whatever ends the run
    log.info("health and metrics at %s/health, /ready, /metrics", url)
    return url
