"""The converter of docs/converters/writing-a-converter.md works exactly as the doc says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
DOC = ROOT / "docs" / "converters" / "writing-a-converter.md"
EXAMPLE = ROOT / "examples" / "my_converters" / "line3.py"


def test_doc_shows_the_example_file_verbatim_in_under_50_lines() -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None
    example = EXAMPLE.read_text().split('"""', 2)[2].lstrip("\n")
    assert code.group(1) == example
    assert len(code.group(1).splitlines()) < 50


def test_example_converts_the_sample_through_the_cli(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "examples")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wats_converter",
            "convert",
            str(ROOT / "examples/my_converters/sample.l3"),
            "--config",
            str(ROOT / "examples/my_converters/line3.yaml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["sn"], report["pn"], report["result"]) == ("SN000777", "PCBA-3003", "P")
    assert [s["name"] for s in report["root"]["steps"]] == ["VCC", "VDD"]
