"""Takaya and XJTAG rows of the vendor-format benchmark table (merged into bench/vendor.py).

`python -m bench.vendor_takaya_xjtag` converts each sample repeatedly and prints the time per
file and per report, so a change to either converter can be compared with the last run.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from wats_converter.converters import ConverterBase
from wats_converter.converters.builtin import TakayaConverter, XJTAGConverter
from wats_converter.pipeline.conversion import convert_path

DATA = Path(__file__).parent.parent / "tests" / "data"

FORMATS: dict[str, tuple[type[ConverterBase], Path]] = {
    "takaya_atd_2_boards": (
        TakayaConverter,
        DATA / "takaya" / "ATD" / "V682780_B_BOT-20230301082027.ATD",
    ),
    "takaya_atd_4_boards": (
        TakayaConverter,
        DATA / "takaya" / "ATD" / "PB2939800_E_BOT-20230420130239.ATD",
    ),
    "takaya_apt94xx_865_steps": (
        TakayaConverter,
        DATA / "takaya" / "APT94xx_ATD" / "12345 - SN0001 (FP1 - OP01).ATD",
    ),
    "xjtag_6_runs": (XJTAGConverter, DATA / "xjtag" / "Demonstration hardware--28_10_2019.xjlog"),
    "xjtag_1_run": (XJTAGConverter, DATA / "xjtag" / "1234_14_25_32_10.08.2018_Pass.xjlog"),
}


def main(repeats: int = 20) -> None:
    for name, (cls, path) in FORMATS.items():
        converter = cls({"timezone": "UTC"} if cls is TakayaConverter else {})
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            reports = convert_path(converter, path).reports
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        print(
            f"{name:28} {len(reports):2} reports  {median * 1000:8.2f} ms/file  "
            f"{median * 1000 / len(reports):8.2f} ms/report"
        )


if __name__ == "__main__":
    main()
