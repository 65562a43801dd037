"""Vendor converters: files/s and peak memory converting each format's largest sample.

`FORMATS` is the table of vendor formats (name -> converter class and its sample in tests/data);
add a row for a new vendor converter and `python -m bench` measures it. Each measurement runs in
a child process, so its peak RSS is the converter's own and not the benchmark's.

    python -m bench.vendor gr228x            # one format, JSON on stdout
    python -m bench.vendor --spea-stream 50  # SPEA streamed from a 50 MB file of repeated runs
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wats_converter.converters import ConverterBase
from wats_converter.converters.builtin import (
    ATMLConverter,
    GR228XConverter,
    SPEAConverter,
    SpectrumConverter,
    TakayaConverter,
    TestStandXMLConverter,
    XJTAGConverter,
)
from wats_converter.pipeline.conversion import convert_path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
MIN_SECONDS = 2.0


@dataclass(frozen=True)
class Format:
    """A vendor format: its converter, its sample (a file, or a folder: its largest file)."""

    converter: type[ConverterBase]
    sample: Path
    settings: dict[str, Any] = field(default_factory=lambda: {"timezone": "Europe/Oslo"})

    def largest(self) -> Path:
        if self.sample.is_file():
            return self.sample
        return max((p for p in self.sample.iterdir() if p.name != "SOURCES.md"), key=_size)


FORMATS: dict[str, Format] = {
    "gr228x": Format(GR228XConverter, DATA / "teradyne-gr228x"),
    "spea": Format(SPEAConverter, DATA / "spea-3030"),
    "spectrum": Format(SpectrumConverter, DATA / "teradyne-spectrum"),
    "takaya_atd": Format(
        TakayaConverter, DATA / "takaya" / "ATD" / "PB2939800_E_BOT-20230420130239.ATD"
    ),
    "takaya_apt94xx": Format(
        TakayaConverter, DATA / "takaya" / "APT94xx_ATD" / "12345 - SN0001 (FP1 - OP01).ATD"
    ),
    "xjtag": Format(
        XJTAGConverter, DATA / "xjtag" / "Demonstration hardware--28_10_2019.xjlog", {}
    ),
    "atml": Format(ATMLConverter, DATA / "atml"),
    "teststand_xml": Format(
        TestStandXMLConverter, DATA / "teststand-xml", {"part_number": "PCBA-100"}
    ),
}


def _size(path: Path) -> int:
    return path.stat().st_size


def convert_rate(name: str) -> dict[str, Any]:
    """Files/s, reports per file and peak memory converting the format's largest sample
    (in a child process)."""
    return _child("--format", name)


def spea_stream(megabytes: int) -> dict[str, Any]:
    """Peak RSS streaming a SPEA file of `megabytes` MB (the sample's runs repeated) through
    `SPEAConverter.iter_reports`, each report dropped once built (in a child process)."""
    return _child("--spea-stream", str(megabytes))


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.vendor", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _measure_format(name: str) -> dict[str, Any]:
    fmt = FORMATS[name]
    path = fmt.largest()
    converter = fmt.converter(fmt.settings)
    tracemalloc.start()
    reports = len(convert_path(converter, path).reports)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    files, started = 0, time.perf_counter()
    while files < 3 or time.perf_counter() - started < MIN_SECONDS:
        convert_path(converter, path)
        files += 1
    elapsed = time.perf_counter() - started
    return {
        "file_mb": _size(path) / 1e6,
        "reports_per_file": reports,
        "files_per_s": files / elapsed,
        "reports_per_s": files * reports / elapsed,
        "peak_traced_mb": traced_peak / 1e6,
        "peak_rss_mb": _max_rss_mb(),
    }


def _measure_spea_stream(megabytes: int) -> dict[str, Any]:
    sample = FORMATS["spea"].largest().read_bytes()
    baseline = _max_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        with path.open("wb") as f:
            while f.tell() < megabytes * 1_000_000:
                f.write(sample)
        reports = steps = 0
        started = time.perf_counter()
        for report in SPEAConverter(FORMATS["spea"].settings).iter_reports(path):
            reports += 1
            steps += sum(1 for _ in report.root.walk())
        elapsed = time.perf_counter() - started
        size = path.stat().st_size
    return {
        "file_mb": size / 1e6,
        "reports": reports,
        "steps": steps,
        "seconds": elapsed,
        "rss_before_mb": baseline,
        "peak_rss_mb": _max_rss_mb(),
    }


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.vendor", description=__doc__)
    parser.add_argument("--format", choices=sorted(FORMATS))
    parser.add_argument("--spea-stream", type=int, metavar="MB")
    args = parser.parse_args()
    if args.spea_stream:
        print(json.dumps(_measure_spea_stream(args.spea_stream)))
    elif args.format:
        print(json.dumps(_measure_format(args.format)))
    else:
        for name in FORMATS:
            print(name, json.dumps(convert_rate(name)))


if __name__ == "__main__":
    main()
