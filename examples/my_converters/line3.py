"""Line 3 testers: per unit a `key=value` header, `step,value,low,high,unit` lines and `END`."""

from __future__ import annotations

import math
from pathlib import Path

from wats_converter.converters import (
    ConversionError,
    ConverterBase,
    ConverterSettings,
    is_nan_reading,
    parse_local_time,
    parse_si,
    unit_symbol,
)
from wats_converter.report import UUTReport


class Line3Settings(ConverterSettings):
    timezone: str = ""  # the testers' IANA zone, e.g. Europe/Oslo; empty: the station's
    part_number: str = "UNKNOWN"  # for units without a part= line


class Line3Converter(ConverterBase[Line3Settings]):
    name = "Line3Converter"
    supported_extensions = (".l3",)
    Settings = Line3Settings

    def is_complete(self, file_path: Path) -> bool:
        # the tester writes END after each unit; a file not ending in END is being written
        with file_path.open("rb") as f:
            f.seek(max(0, file_path.stat().st_size - 16))
            return f.read().rstrip().endswith(b"END")

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        reports: list[UUTReport] = []
        header: dict[str, str] = {}
        steps: list[tuple[int, str]] = []
        for number, line in enumerate(content.splitlines(), 1):
            line = line.strip()
            if line == "END":
                reports.append(self._unit(header, steps, number))
                header, steps = {}, []
            elif "=" in line and "," not in line:
                key, _, value = line.partition("=")
                header[key.strip()] = value.strip()
            elif line:
                steps.append((number, line))
        if not reports:
            raise ConversionError("no complete unit (no END line)")
        return reports

    def _unit(self, header: dict[str, str], steps: list[tuple[int, str]], end: int) -> UUTReport:
        if "serial" not in header:
            raise ConversionError("the unit has no serial= line", line=end, field="serial")
        pn = header.get("part", self.settings.part_number)
        report = UUTReport(pn=pn, sn=header["serial"], rev=header.get("revision", ""))
        report.uut.user = header.get("operator")  # None: the station's operator
        start = parse_local_time(
            header.get("start", ""), ["%Y-%m-%d %H:%M:%S"], self.settings.timezone, line=end
        )
        report.start = start.note_on(report)  # a DST-doubtful time becomes a note in WATS
        for number, line in steps:
            fields = [f.strip() for f in line.split(",")]
            if len(fields) != 5:
                raise ConversionError("expected step,value,low,high,unit", line=number)
            name, value, low, high, unit = fields
            reading = math.nan if is_nan_reading(value) else parse_si(value, line=number)
            report.root.add_numeric_step(
                name,
                reading,
                parse_si(low, line=number, field=name) if low else None,
                parse_si(high, line=number, field=name) if high else None,
                unit=unit_symbol(unit),
            )
        return report
