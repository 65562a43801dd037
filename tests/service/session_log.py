"""A converter for a session log the tester appends to board by board (used by the tests).

    BOARD sn=SN1 start=2026-03-04T09:15:30+01:00
    VCC 5.01 4.9 5.1 V
    BOARD sn=SN2 start=...
    ...
    END SESSION

The log is complete only once `END SESSION` is written: `is_complete` says so.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from wats_converter.converters import ConversionError, ConverterBase, ConverterSettings
from wats_converter.report import UUTReport

END = "END SESSION"


class SessionLogSettings(ConverterSettings):
    part_number: str = "PCBA-LOG"


class SessionLogConverter(ConverterBase[SessionLogSettings]):
    name = "SessionLogConverter"
    supported_extensions = (".log",)
    Settings = SessionLogSettings

    def is_complete(self, file_path: Path) -> bool:
        with file_path.open("rb") as f:
            f.seek(max(0, file_path.stat().st_size - 64))
            return f.read().decode(errors="replace").rstrip().endswith(END)

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        reports: list[UUTReport] = []
        for number, line in enumerate(content.splitlines(), 1):
            words = line.split()
            if not words or line.strip() == END:
                continue
            if words[0] == "BOARD":
                fields = dict(w.split("=", 1) for w in words[1:])
                start = datetime.fromisoformat(fields["start"])
                reports.append(
                    UUTReport(pn=self.settings.part_number, sn=fields["sn"], start=start)
                )
            elif reports and len(words) == 5:
                name, value, low, high, unit = words
                reports[-1].root.add_numeric_step(
                    name, float(value), float(low), float(high), unit=unit
                )
            else:
                raise ConversionError("expected BOARD or a measurement", line=number)
        return reports
