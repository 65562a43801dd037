"""`python -m bench.report [FILE]`: bench/results/latest.json (or FILE) as a markdown table
(docs/performance.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def cell(value: Any) -> str:
    if isinstance(value, dict):
        if value["runs"] > 1:
            return f"{value['median']:.3g} ({value['min']:.3g}..{value['max']:.3g})"
        return f"{value['median']:.3g}"
    return "-" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def main() -> None:
    default = Path(__file__).parent / "results" / "latest.json"
    data = json.loads((Path(sys.argv[1]) if len(sys.argv) > 1 else default).read_text())
    print(
        f"Run of {data['when']} on {data['machine']}, {data['cpus']} CPUs"
        f"{' (full sizes)' if data['full'] else ''}; median (min..max) over the repeats.\n"
    )
    print("| scenario | figures |\n|---|---|")
    for name, figures in data["results"].items():
        print(f"| {name} | " + ", ".join(f"{k} {cell(v)}" for k, v in figures.items()) + " |")
    if data["ratios"]:
        print("\n| ratio (within this run) | value |\n|---|---|")
        for name, value in data["ratios"].items():
            print(f"| {name} | {value:.2f} |")


if __name__ == "__main__":
    main()
