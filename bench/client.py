"""The WATS client alone: CPU per POST of `WatsClient.submit` against the stand-in server.

    python -m bench.client                       # 1 KB and 56 KB reports, JSON on stdout
    python -m bench.client --compare OTHER_SRC   # this checkout and OTHER_SRC, alternating

Each round posts `count` ready reports through one client, `CONCURRENCY` at a time (as
delivery keeps several in flight), to `bench.standin` (no delay) in its own process, after a
warm-up of 50 posts; the figure is this process's CPU (`time.process_time`) per POST: building
the request, writing it, reading and checking the answer, and the event loop's share.
`--compare` runs each round in a child process with `PYTHONPATH` at OTHER_SRC (e.g. an exported
copy of main's `src`) and at this checkout's `src`, alternating, so both see the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.rig import StandInProcess
from wats_converter.testing import minimal_report, rich_report
from wats_converter.wats_client import WatsClient

CONCURRENCY = 8
WARM_UP = 50
ROOT = Path(__file__).resolve().parent.parent
COUNTS = {"small": 3000, "rich": 1000}


def client_cpu(kind: str, count: int) -> dict[str, Any]:
    """One round: CPU ms per POST of `count` reports of `kind` (`small` or `rich`)."""
    make = minimal_report if kind == "small" else rich_report
    reports = [make(f"CLIENT-{i}") for i in range(count + WARM_UP)]
    items = [(str(r.id), r.to_wsjf()) for r in reports]
    standin = StandInProcess(0)
    try:
        cpu_s, wall_s = asyncio.run(_post_all(standin.url, items))
    finally:
        standin.close()
    return {
        "report_bytes": len(items[0][1]),
        "client_cpu_ms_per_post": cpu_s / count * 1000,
        "posts_per_s": count / wall_s,
        "load_1min": os.getloadavg()[0],
    }


async def _post_all(url: str, items: list[tuple[str, bytes]]) -> tuple[float, float]:
    client = WatsClient(url, "bench", max_connections=CONCURRENCY)
    queue = items[WARM_UP:][::-1]

    async def lane(work: list[tuple[str, bytes]]) -> None:
        while work:
            report_id, body = work.pop()
            await client.submit(body, report_id)

    try:
        await asyncio.gather(*(lane(items[i:WARM_UP:CONCURRENCY]) for i in range(CONCURRENCY)))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(lane(queue) for _ in range(CONCURRENCY)))
        return time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await client.aclose()


def _child(src: Path, kind: str, count: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "bench.client", "--kind", kind, "--count", str(count)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def compare(other: Path, rounds: int) -> dict[str, Any]:
    """`other` (before) and this checkout (after), alternating rounds, medians per kind."""
    out: dict[str, Any] = {}
    for kind, count in COUNTS.items():
        before, after = [], []
        for _ in range(rounds):
            before.append(_child(other, kind, count)["client_cpu_ms_per_post"])
            after.append(_child(ROOT / "src", kind, count)["client_cpu_ms_per_post"])
        out[kind] = {
            "before_ms": before,
            "after_ms": after,
            "before_median_ms": statistics.median(before),
            "after_median_ms": statistics.median(after),
            "after_over_before": statistics.median(
                a / b for a, b in zip(after, before, strict=True)
            ),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__)
    parser.add_argument("--kind", choices=sorted(COUNTS))
    parser.add_argument("--count", type=int)
    parser.add_argument("--compare", type=Path, metavar="OTHER_SRC")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.compare:
        print(json.dumps(compare(args.compare, args.rounds), indent=2))
        return
    kinds = [args.kind] if args.kind else sorted(COUNTS)
    result = {k: client_cpu(k, args.count or COUNTS[k]) for k in kinds}
    print(json.dumps(result[args.kind] if args.kind else result))


if __name__ == "__main__":
    main()
