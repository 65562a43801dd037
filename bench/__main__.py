"""`python -m bench [--full] [--runs N] [--only NAME ...] [--out FILE]`: run the benchmarks,
print a table, write bench/results/latest.json (or FILE). Ratios are computed within one run."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import client, floor, runners, vendor
from bench import scenarios as s
from wats_converter.server.workers import default_processes

RESULTS = Path(__file__).parent / "results"
CORES = default_processes(admin=False)
REFERENCE = {"burst_rich_json": 45.0, "burst_small_json": 180.0}  # pyWATS, same class of machine


def plan(full: bool) -> dict[str, tuple[Callable[[], dict[str, Any]], bool]]:
    """name -> (scenario, repeat it for a spread)."""
    n = 3 if full else 1
    table: dict[str, tuple[Callable[[], dict[str, Any]], bool]] = {
        "ceiling_raw_post_small": (lambda: s.raw_post("small", 3000), True),
        "ceiling_raw_post_rich": (lambda: s.raw_post("rich", 400), True),
        "ceiling_fs_write_fsync_rename_unlink": (lambda: s.raw_fs(2000), True),
        "ceiling_server_small_ideal_client": (lambda: s.server_ceiling("small", 4000), True),
        "ceiling_server_rich_ideal_client": (lambda: s.server_ceiling("rich", 1500), True),
        # more reports in flight (as a delivery with many connections sends): larger groups
        "ceiling_server_rich_ideal_client_16_connections": (
            lambda: s.server_ceiling("rich", 1500, connections=16),
            True,
        ),
        # the WATS client alone: its CPU per POST of a ready report (bench/client.py)
        "client_post_small": (lambda: client.client_cpu("small", 3000), True),
        "client_post_rich": (lambda: client.client_cpu("rich", 1000), True),
        # `serve --processes` as it starts by default: one event loop per core (at most 4)
        "ceiling_server_small_ideal_client_all_cores": (
            lambda: s.server_ceiling("small", 4000, processes=CORES),
            True,
        ),
        "ceiling_server_rich_ideal_client_all_cores": (
            lambda: s.server_ceiling("rich", 1500, processes=CORES),
            True,
        ),
        "ceiling_server_rich_ideal_client_16_connections_all_cores": (
            lambda: s.server_ceiling("rich", 1500, connections=16, processes=CORES),
            True,
        ),
        # the least CPU per file any Python program spends on the service's mandatory steps
        "floor_small_json": (lambda: floor.floor("small", 3000), True),
        "floor_rich_json": (lambda: floor.floor("rich", 600), True),
        "convert_small_json_fast": (lambda: s.convert_only("small", 3000), True),
        "convert_small_json_careful": (lambda: s.convert_only("small", 3000, careful=True), True),
        "convert_rich_json_fast": (lambda: s.convert_only("rich", 300), True),
        "convert_rich_json_careful": (lambda: s.convert_only("rich", 300, careful=True), True),
        # the files of the burst scenarios: no id, the service derives it from the unit's hash
        "convert_small_json_noid": (lambda: s.convert_only("small", 3000, with_id=False), True),
        "convert_rich_json_noid": (lambda: s.convert_only("rich", 300, with_id=False), True),
        "burst_small_json": (lambda: s.burst("json", 2000 * n, rows=10), True),
        "burst_rich_json": (lambda: s.burst("json", 400 * n, rows=190), True),
        "burst_rich_json_process_workers": (
            lambda: s.burst("json", 400 * n, rows=190, workers=2, mode="process"),
            True,
        ),
        **{
            f"standin_{size}_json_delay_{delay}ms": (
                lambda rows=rows, count=count, delay=delay: s.burst(
                    "json", count * n, rows=rows, standin_delay_ms=delay
                ),
                True,
            )
            for size, rows, count in (("small", 10, 1000), ("rich", 190, 300))
            for delay in (0, 20, 100)
        },
        "burst_csv_10_rows": (lambda: s.burst("csv", 1000 * n, rows=10), True),
        "burst_csv_100_rows": (lambda: s.burst("csv", 500 * n, rows=100), False),
        "burst_csv_1000_rows": (lambda: s.burst("csv", 100 * n, rows=1000), False),
        "burst_csv_10000_rows": (lambda: s.burst("csv", 20 * n, rows=10000), False),
        "backlog_1000": (lambda: s.backlog(1000), False),
        "backlog_10000": (lambda: s.backlog(10000), False),
        "conversion_only_then_drain": (lambda: s.conversion_then_drain(1000 * n), False),
        "idle_latency": (lambda: s.idle_latency(20), False),
        "idle_latency_settle_100ms": (lambda: s.idle_latency(40, settle_s=0.1), False),
        "soak": (lambda: s.soak(10000 if full else 3000), False),
    }
    for name in vendor.FORMATS:
        table[f"vendor_{name}"] = (lambda name=name: vendor.convert_rate(name), False)
    table["vendor_spea_stream_50mb"] = (lambda: vendor.spea_stream(50), False)
    for name in runners.NAMES:
        table[f"runners_{name}"] = (lambda name=name: runners.compare(name), False)
    if full:
        table["backlog_100000"] = (lambda: s.backlog(100_000), False)
        table["idle_cost_100000_kept"] = (lambda: s.idle_cost(100_000), False)
    else:
        table["idle_cost_10000_kept"] = (lambda: s.idle_cost(10_000, seconds=30), False)
    return table


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in runs[0]:
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        if not values:
            out[key] = runs[0][key]
            continue
        out[key] = {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "runs": len(values),
        }
    return out


def fmt(value: Any) -> str:
    if isinstance(value, dict):
        spread = f" [{value['min']:.3g}..{value['max']:.3g}]" if value["runs"] > 1 else ""
        return f"{value['median']:.3g}{spread}"
    return "-" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the sizes of issue 6 (slow)")
    parser.add_argument("--runs", type=int, default=3, help="repeats of the repeatable scenarios")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    parser.add_argument(
        "--out", type=Path, default=RESULTS / "latest.json", help="where to write the JSON"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for name, (scenario, repeat) in plan(args.full).items():
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        runs = [scenario() for _ in range(args.runs if repeat else 1)]
        results[name] = summarise(runs)
        figures = ", ".join(f"{k}={fmt(v)}" for k, v in results[name].items())
        print(f"{name:40s} {figures}   ({time.perf_counter() - started:.0f} s)", flush=True)
    ratios = ratios_of(results)
    for key, value in ratios.items():
        print(f"{key:40s} {value:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": __import__("os").cpu_count(),
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "full": args.full,
                "results": results,
                "ratios": ratios,
            },
            indent=2,
        )
    )
    print(f"written {args.out}")


def ratios_of(results: dict[str, Any]) -> dict[str, float]:
    """The figures compared across scenarios: against pywats, the raw-post ceiling, the
    careful conversion and the stand-in delays."""
    ratios: dict[str, float] = {}
    for name, reference in REFERENCE.items():
        if name in results:
            ratios[f"{name}_vs_pywats"] = results[name]["files_per_s"]["median"] / reference
    if "burst_small_json" in results and "ceiling_raw_post_small" in results:
        ratios["small_json_fraction_of_raw_post"] = (
            results["burst_small_json"]["files_per_s"]["median"]
            / results["ceiling_raw_post_small"]["posts_per_s"]["median"]
        )
    if "burst_rich_json" in results and "ceiling_raw_post_rich" in results:
        ratios["rich_json_fraction_of_raw_post"] = (
            results["burst_rich_json"]["files_per_s"]["median"]
            / results["ceiling_raw_post_rich"]["posts_per_s"]["median"]
        )
    for size in ("small", "rich"):
        fast, careful = (results.get(f"convert_{size}_json_{p}") for p in ("fast", "careful"))
        if fast and careful:
            ratios[f"convert_{size}_json_careful_over_fast"] = (
                careful["cpu_ms"]["median"] / fast["cpu_ms"]["median"]
            )
        for delay in (20, 100):
            slow, quick = (results.get(f"standin_{size}_json_delay_{d}ms") for d in (delay, 0))
            if slow and quick:
                ratios[f"standin_{size}_json_delay_{delay}ms_fraction_of_0ms"] = (
                    slow["files_per_s"]["median"] / quick["files_per_s"]["median"]
                )
    if "burst_rich_json" in results and "ceiling_server_rich_ideal_client" in results:
        ratios["rich_json_fraction_of_ideal_client"] = (
            results["burst_rich_json"]["files_per_s"]["median"]
            / results["ceiling_server_rich_ideal_client"]["posts_per_s"]["median"]
        )
    return ratios


if __name__ == "__main__":
    main()
