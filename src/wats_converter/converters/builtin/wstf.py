"""WSTFConverter: the WATS Standard Text Format (spec §3.3): tab-separated, one or more UUTs.

```
--Header-Start--           <Key>\t<Value> header lines (unknown keys become misc infos)
--Step-Data-Start--        StepType\tStepName\tMeasureName\tValue\tLow\tHigh\tComp\tUnit\tStatus...
--Step-Data-End--          footer: UUTStatus, ErrorCode, ErrorMessage, ExecutionTime
--UUT-End--
```
Every error names the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from wats_converter.converters.api import ConverterBase, ConverterSettings
from wats_converter.converters.builtin.wstf_steps import StepRows
from wats_converter.converters.values import (
    parse_number,
    parse_time,
)
from wats_converter.errors import ConversionError
from wats_converter.report import ROOT_NAME, SeqCall, UUTReport
from wats_converter.report.model import Step

HEADER_KEYS = (
    "SerialNumber",
    "PartNumber",
    "Revision",
    "OperationTypeCode",
    "OperationTypeName",
    "UUTStatus",
    "ErrorCode",
    "ErrorMessage",
    "StartDateTime",
    "UTCStartDateTime",
    "ExecutionTime",
    "StationName",
    "OperatorName",
    "TestSocketIndex",
    "FixtureId",
    "SoftwareName",
    "SoftwareVersion",
    "BatchSerialNumber",
    "Comment",
    "ConverterMode",
    "Subunit",
)
# UTCStartDateTime must be tried before StartDateTime is not needed: keys are matched as prefixes
# of the line in this order, longest first, as the WATS converter does.
MATCH_ORDER = sorted(HEADER_KEYS, key=len, reverse=True)
UUT_STATUS = {
    "passed": "P",
    "pass": "P",
    "failed": "F",
    "fail": "F",
    "error": "E",
    "terminated": "T",
    "aborted": "T",
    "undetermined": "T",
}
END_MARKER = re.compile(r"^--\s*UUT-End--")


class WSTFSettings(ConverterSettings):
    decimal: Literal[".", ","] = "."
    """Decimal separator of numbers (the station's culture: ',' for de-DE and similar)."""
    timezone: str | None = None
    """IANA zone of StartDateTime; default: this computer's zone (as the WATS client does)."""
    operator: str | None = Field(default=None, max_length=100)


class WSTFConverter(ConverterBase):
    """Reads `*.txt` files in the WATS Standard Text Format."""

    name = "WSTFConverter"
    supported_extensions = (".txt",)
    Settings = WSTFSettings

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        return WSTFParser(self.settings).parse(content)


@dataclass
class _Unit:
    header: dict[str, tuple[int, str]] = field(default_factory=dict)
    misc: list[tuple[str, str]] = field(default_factory=list)
    subunits: list[list[str]] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


class WSTFParser:
    def __init__(self, settings: WSTFSettings) -> None:
        self.settings = settings

    def parse(self, text: str) -> list[UUTReport]:
        reports: list[UUTReport] = []
        unit: _Unit | None = None
        section = "none"
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip("\r\n")
            marker = line.strip()
            if not marker:
                continue
            if marker.startswith("--Header-Start--"):
                unit, section = _Unit(), "header"
            elif unit is None:
                raise ConversionError("text before --Header-Start--", line=number)
            elif END_MARKER.match(marker):
                reports.append(self._build(unit, number))
                unit, section = None, "none"
            else:
                section = self._unit_line(unit, section, line, number)
        if unit is not None:
            raise ConversionError(
                "the file ends before --UUT-End-- (truncated?)", line=len(text.splitlines())
            )
        if not reports:
            raise ConversionError("no --Header-Start-- ... --UUT-End-- block in the file", line=1)
        return reports

    def _unit_line(self, unit: _Unit, section: str, line: str, number: int) -> str:
        """Take one line inside a unit's block; return the section the next line is in."""
        marker = line.strip()
        if marker.startswith("--Step-Data-Start--"):
            return "steps"
        if marker.startswith("--Step-Data-End--"):
            return "footer"
        if section != "steps":
            self._header_line(unit, line, number)
        elif not line.startswith("StepType"):  # the optional column-title row
            unit.rows.append((number, line.split("\t")))
        return section

    def _header_line(self, unit: _Unit, line: str, number: int) -> None:
        key, tab, value = line.partition("\t")
        if not tab:
            raise ConversionError(
                f"unknown keyword {line.strip()[:40]!r}: expected Key<TAB>Value", line=number
            )
        known = next((k for k in MATCH_ORDER if key.startswith(k)), None)
        if known == "Subunit":
            unit.subunits.append(value.split("\t"))
        elif known is not None:
            unit.header[known] = (number, value.strip())
        else:
            unit.misc.append((key.strip(), value.strip()))

    def _build(self, unit: _Unit, end_line: int) -> UUTReport:
        h = unit.header
        for key in ("SerialNumber", "PartNumber"):
            if not h.get(key, (0, ""))[1]:
                raise ConversionError(f"header {key} is missing", line=end_line, field=key)
        report = UUTReport(
            pn=h["PartNumber"][1],
            sn=h["SerialNumber"][1],
            rev=h.get("Revision", (0, ""))[1],
            start=self._start(h, end_line),
            machineName=_get(h, "StationName"),
        )
        self._header_fields(report, h)
        for description, text in unit.misc:
            report.add_misc_info(description[:100], text[:100])
        for sub in unit.subunits:
            cols = [*sub, "", "", "", ""]
            report.add_sub_unit(cols[0], cols[1], cols[2], cols[3])
        report.root = Step(
            name=ROOT_NAME,
            stepType="SequenceCall",
            steps=[],
            seqCall=SeqCall(
                name=ROOT_NAME, path=_get(h, "SoftwareName"), version=_get(h, "SoftwareVersion")
            ),
        )
        StepRows(report.root, self.settings.decimal).add_rows(unit.rows)
        return report

    def _start(self, h: dict[str, tuple[int, str]], end_line: int) -> datetime:
        if "StartDateTime" in h:
            line, text = h["StartDateTime"]
            return parse_time(text, self.settings.timezone, line=line, field="StartDateTime")
        if "UTCStartDateTime" in h:
            line, text = h["UTCStartDateTime"]
            return parse_time(text, "UTC", line=line, field="UTCStartDateTime").astimezone()
        raise ConversionError(
            "header StartDateTime is missing", line=end_line, field="StartDateTime"
        )

    def _header_fields(self, report: UUTReport, h: dict[str, tuple[int, str]]) -> None:
        dec = self.settings.decimal

        def number(key: str) -> float | None:
            return parse_number(h[key][1], dec, line=h[key][0], field=key) if _get(h, key) else None

        code = number("OperationTypeCode")
        report.processCode = int(code) if code is not None else None
        report.processName = _get(h, "OperationTypeName") if code is None else None
        if _get(h, "UUTStatus"):
            line, word = h["UUTStatus"]
            if word.lower() not in UUT_STATUS:
                raise ConversionError(
                    f"UUTStatus {word!r} is not one of {', '.join(UUT_STATUS)}",
                    line=line,
                    field="UUTStatus",
                )
            report.result = UUT_STATUS[word.lower()]  # type: ignore[assignment]
        u = report.uut
        u.user = _get(h, "OperatorName") or self.settings.operator
        u.fixtureId = _get(h, "FixtureId")
        u.batchSN = _get(h, "BatchSerialNumber")
        u.comment = _get(h, "Comment")
        u.errorMessage = _get(h, "ErrorMessage")
        u.execTime = number("ExecutionTime")
        error_code, socket = number("ErrorCode"), number("TestSocketIndex")
        u.errorCode = int(error_code) if error_code is not None else None
        u.testSocketIndex = int(socket) if socket is not None else None


def _get(h: dict[str, tuple[int, str]], key: str) -> str | None:
    return h[key][1] or None if key in h else None
