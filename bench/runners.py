"""Thread runner against process runner, side by side: files/s converting the CPU-heavy files
(each vendor format's largest sample, the 56 KB WSJF report) through the service's own runners,
four conversions at a time as the worker pool does (`max_workers: 4`), the process runner with
one worker process per core. Each format runs in a child process of its own, the two runners
in three alternating rounds of 3 s (medians; the ratio is the median of the per-round ratios).

    python -m bench.runners                  # every format, one JSON line each
    python -m bench.runners --format spea    # one format, JSON on stdout

Figures: files/s with each runner and their ratio; the service process's CPU per file (what
the event loop and its threads spend) and, for the process runner, the workers' CPU per file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil

from bench.vendor import FORMATS
from wats_converter.config import Config, build_config
from wats_converter.converters.registry import build_slots
from wats_converter.pipeline.runners import ProcessRunner, Runner, ThreadRunner
from wats_converter.testing import rich_report

SECONDS = 3.0
ROUNDS = 3
CONCURRENCY = 4
NAMES = ["wsjf_rich", *FORMATS]


def compare(name: str) -> dict[str, Any]:
    """Both runners on format `name` (in a child process)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.runners", "--format", name],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _setup(name: str, folder: Path) -> tuple[Config, Path]:
    if name == "wsjf_rich":
        path = folder / "rich.json"
        path.write_bytes(rich_report("SN-RICH").to_wsjf())
        entry: dict[str, Any] = {"class_name": "WSJFConverter"}
    else:
        fmt = FORMATS[name]
        path = fmt.largest()
        entry = {"class_name": fmt.converter.__name__, "settings": fmt.settings}
    converter = {"name": name, "watch_folder": str(folder), "post_process_action": "KEEP"}
    return build_config({"converters": [{**converter, **entry}]}, folder), path


async def _rate(runner: Runner, path: Path, workers: list[int]) -> dict[str, float]:
    await asyncio.gather(*(runner.run(0, path, 600) for _ in range(CONCURRENCY)))  # warm
    files = 0
    cpu0, workers0 = time.process_time(), _cpu(workers)
    started = time.perf_counter()

    async def lane() -> None:
        nonlocal files
        while time.perf_counter() - started < SECONDS:
            await runner.run(0, path, 600)
            files += 1

    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    return {
        "files_per_s": files / elapsed,
        "service_cpu_ms": (time.process_time() - cpu0) / files * 1000,
        "worker_cpu_ms": (_cpu(workers) - workers0) / files * 1000,
    }


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


async def _both(config: Config, path: Path) -> dict[str, Any]:
    """The two runners in alternating rounds, so both see the same load on a shared machine."""
    slots = build_slots(config)
    load = os.getloadavg()[0]
    threads = ThreadRunner([s.converter for s in slots])
    processes = ProcessRunner(config, min(CONCURRENCY, os.cpu_count() or 1))
    rounds: list[tuple[dict[str, float], dict[str, float]]] = []
    try:
        await processes.run(0, path, 600)
        for _ in range(ROUNDS):
            thread = await _rate(threads, path, [])
            rounds.append((thread, await _rate(processes, path, processes.pids)))
    finally:
        processes.close()
    return {
        "file_kb": path.stat().st_size / 1000,
        "thread_files_per_s": _median(r[0]["files_per_s"] for r in rounds),
        "process_files_per_s": _median(r[1]["files_per_s"] for r in rounds),
        "process_over_thread": _median(r[1]["files_per_s"] / r[0]["files_per_s"] for r in rounds),
        "thread_service_cpu_ms": _median(r[0]["service_cpu_ms"] for r in rounds),
        "process_service_cpu_ms": _median(r[1]["service_cpu_ms"] for r in rounds),
        "process_worker_cpu_ms": _median(r[1]["worker_cpu_ms"] for r in rounds),
        # cores this session kept busy: what the scheduler gave it (see docs/performance.md)
        "thread_cores_busy": _median(_busy(r[0]) for r in rounds),
        "process_cores_busy": _median(_busy(r[1]) for r in rounds),
        "load_1min_before": load,
    }


def _busy(rate: dict[str, float]) -> float:
    return rate["files_per_s"] * (rate["service_cpu_ms"] + rate["worker_cpu_ms"]) / 1000


def _median(values: Iterable[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.runners", description=__doc__)
    parser.add_argument("--format", choices=NAMES)
    args = parser.parse_args()
    if args.format:
        with tempfile.TemporaryDirectory() as tmp:
            config, path = _setup(args.format, Path(tmp))
            print(json.dumps(asyncio.run(_both(config, path))))
        return
    for name in NAMES:
        print(name, json.dumps(compare(name)), flush=True)


if __name__ == "__main__":
    main()
