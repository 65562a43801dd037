"""`python -m bench.ab --before REV [--runs N] SCENARIO ...`: the same scenarios with the
package as it was at git revision REV and as it is now, interleaved run by run, so both sides
see the same machine load; prints medians side by side with after/before ratios.

Only the processes a scenario starts (the local server, the service) take the old package, so
this suits the scenarios that measure those (`ceiling_server_*`, `burst_*`, `standin_*`), not
the in-process ones (`convert_*`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.__main__ import RESULTS, plan

ROOT = Path(__file__).resolve().parent.parent


def checkout(rev: str, into: Path) -> Path:
    """`src/` of `rev`, extracted into `into` (the working tree is not touched)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def run_interleaved(
    names: list[str], trees: dict[str, Path], runs: int
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    table = plan(full=False)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {n: {t: [] for t in trees} for n in names}
    saved = os.environ.get("PYTHONPATH")
    try:
        for run in range(runs):
            for name in names:
                for side, tree in trees.items():
                    os.environ["PYTHONPATH"] = str(tree)  # the children import this tree
                    figures = table[name][0]()
                    results[name][side].append(figures)
                    shown = ", ".join(f"{k}={v:.3g}" for k, v in figures.items())
                    print(f"run {run + 1} {name} {side}: {shown}", flush=True)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    return results


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = [k for k in runs[0] if all(isinstance(r.get(k), int | float) for r in runs)]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--before", required=True, help="the git revision to compare with")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "ab.json")
    parser.add_argument("scenarios", nargs="+")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": checkout(args.before, Path(tmp)), "after": ROOT / "src"}
        results = run_interleaved(args.scenarios, trees, args.runs)
    summary: dict[str, Any] = {}
    print(f"\nmedians of {args.runs} interleaved runs; before = {args.before}")
    for name, sides in results.items():
        before, after = medians(sides["before"]), medians(sides["after"])
        summary[name] = {"before": before, "after": after}
        for key in after:
            old = before.get(key)
            ratio = f"{after[key] / old:.2f}" if old else "-"
            shown = f"{old:.3g}" if old is not None else "-"
            print(f"{name:48s} {key:20s} {shown:>9s} {after[key]:9.3g}   x{ratio}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = {"when": stamp, "before": args.before, "runs": args.runs, "results": summary}
    args.out.write_text(json.dumps(record, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
