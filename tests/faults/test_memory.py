"""Memory per file is bounded by design: a huge file fails early instead of taking the station.

A report costs about 5 KB of memory a step while it is built, so a 63 MB CSV (under the 64 MiB
size limit) once took about 8 GiB. The `max_steps` budget (100,000 steps per file by default)
stops any converter's file at that many steps, and the CSV converter reads rows one at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MEASURE = """
import json, resource, sys
from pathlib import Path
from wats_converter.converters.builtin import CSVConverter
from wats_converter.pipeline.conversion import convert_path
try:
    convert_path(CSVConverter(), Path(sys.argv[1]))
    outcome = "converted"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {exc}"
print(json.dumps({"outcome": outcome, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_a_20_mb_csv_fails_early_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("w") as f:
        f.write("pn,P\nsn,S\nstart,2025-03-04T09:15:30+01:00\n\nname,value,unit,low,high\n")
        for i in range(500_000):  # 20 MB, 500,000 measurements
            f.write(f"Resistor R{i:07d},{i}.5,V,0,1000000\n")
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True
    )

    result = json.loads(done.stdout)
    assert result["outcome"].startswith("FileTooLarge: the file makes more than 100,000 steps")
    # before the budget this file peaked at about 2.5 GiB; now the budget's 100,000 steps
    # (about 5 KB each) and the file's text are what it holds at most
    assert result["peak_mib"] < 900, result
