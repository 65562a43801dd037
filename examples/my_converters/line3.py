"""A complete user converter: Line 3's testers write `SN;PN;name=value unit;...` text files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from wats_converter.converters import ConversionError, ConverterBase, ConverterSettings, parse_number
from wats_converter.report import UUTReport


class Line3Settings(ConverterSettings):
    delimiter: str = ";"
    low: float = 4.9
    high: float = 5.1


class Line3Converter(ConverterBase):
    name = "Line3Converter"
    supported_extensions = (".l3",)
    Settings = Line3Settings

    def convert(self, content: str, file_path: Path) -> UUTReport:
        lines = [line for line in content.splitlines() if line.strip()]
        if not lines:
            raise ConversionError("the file is empty")
        sn, pn, *measurements = lines[0].split(self.settings.delimiter)
        start = datetime.fromtimestamp(file_path.stat().st_mtime).astimezone()
        report = UUTReport(pn=pn.strip(), sn=sn.strip(), start=start)
        for field in measurements:
            name, _, reading = field.partition("=")
            value, _, unit = reading.strip().partition(" ")
            number = parse_number(value, line=1, field=name)
            report.root.add_numeric_step(
                name.strip(), number, self.settings.low, self.settings.high, unit=unit or None
            )
        return report
