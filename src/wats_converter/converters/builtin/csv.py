"""CSVConverter: one CSV file = one UUT; a header block and one row per measurement.

```
pn,PCBA-1001            <- header block: key,value lines (optional)
sn,SN000123
start,2025-03-04T09:15:30+01:00

name,value,unit,low,high,comp,status     <- the measurement table
VCC,5.02,V,4.9,5.1,GELE,
```
Header fields may instead be columns of the table (taken from its first row). See
docs/converters/csv.md for every setting.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from datetime import datetime
from pathlib import Path
from typing import cast

from pydantic import Field

from wats_converter.converters.api import ConverterBase, ConverterSettings
from wats_converter.converters.ids import unit_id
from wats_converter.converters.values import (
    parse_number,
    parse_reading,
    parse_status,
    parse_time,
)
from wats_converter.errors import ConversionError, ReportValidationError
from wats_converter.report import Step, UUTReport
from wats_converter.report.compare import STRING_OPS, CompOp, parse_comp_op
from wats_converter.report.parts import MeasStatus, ReportResult
from wats_converter.report.readings import is_nan_reading

HEADER_FIELDS = (
    "pn",
    "sn",
    "rev",
    "result",
    "operator",
    "start",
    "process_code",
    "station",
    "location",
    "purpose",
    "fixture",
    "batch",
    "comment",
)
TABLE_FIELDS = ("name", "value", "unit", "low", "high", "comp", "status", "sequence", "limit")
PASS_FAIL_WORDS = {
    "pass": True,
    "passed": True,
    "true": True,
    "fail": False,
    "failed": False,
    "false": False,
}


class CSVSettings(ConverterSettings):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    decimal: str = Field(default=".", pattern=r"^[.,]$")
    """Decimal separator of numbers (',' for stations that write 4,95)."""
    columns: dict[str, str] = Field(default_factory=dict)
    """Rename columns: {our field: the station's column title}, e.g. {sn: Serial}."""
    timezone: str | None = None
    """IANA zone for start times written without an offset; default: this computer's zone."""


class CSVConverter(ConverterBase):
    """Reads `*.csv` result files (format in docs/converters/csv.md)."""

    name = "CSVConverter"
    supported_extensions = (".csv",)
    Settings = CSVSettings

    def convert(self, content: str, file_path: Path) -> UUTReport:
        # rows are read one at a time: a big file never exists as a list of rows as well
        reader = csv.reader(io.StringIO(content), delimiter=self.settings.delimiter)
        titles = {
            f: self.settings.columns.get(f, f).strip().lower()
            for f in (*HEADER_FIELDS, *TABLE_FIELDS)
        }
        head_rows: list[list[str]] = []
        for row in reader:
            if _is_table_header(row, titles):
                break
            head_rows.append(row)
        else:
            raise ConversionError(
                f"no measurement table: expected a header row with the columns "
                f"{titles['name']!r} and {titles['value']!r}"
            )
        header = _header_block(head_rows, titles)
        columns = {c.strip().lower(): i for i, c in enumerate(row)}
        body = (
            (len(head_rows) + 2 + i, r) for i, r in enumerate(reader) if any(c.strip() for c in r)
        )
        first = next(body, None)
        for field in HEADER_FIELDS:
            if field not in header and titles[field] in columns and first is not None:
                line, cells = first
                header[field] = (line, _cell(cells, columns, titles[field]))
        report = self._report(header, file_path)
        if not header.get("start", (0, ""))[1]:
            # the start is the file's mtime, which says nothing about the unit: the id comes
            # from the file's content, so touching or re-dropping the file never duplicates
            report.id = unit_id(self.display_name, hashlib.sha256(content.encode()).hexdigest())
        for line, row in itertools.chain([first] if first is not None else [], body):
            self._add_row(report, row, columns, titles, line)
        return report

    def _report(self, header: dict[str, tuple[int, str]], file_path: Path) -> UUTReport:
        def get(field: str) -> str | None:
            return header[field][1] or None if field in header else None

        for field in ("pn", "sn"):
            if not get(field):
                raise ConversionError(f"header field {field!r} is missing or empty", field=field)
        start = (
            parse_time(get("start") or "", self.settings.timezone, line=header["start"][0])
            if get("start")
            else datetime.fromtimestamp(file_path.stat().st_mtime).astimezone()
        )
        report = UUTReport(
            pn=get("pn"),
            sn=get("sn"),
            rev=get("rev") or "",
            start=start,
            machineName=get("station"),
            location=get("location"),
            purpose=get("purpose"),
        )
        if get("process_code"):
            line, text = header["process_code"]
            report.processCode = int(parse_number(text, ".", line=line, field="process_code"))
        if get("result"):
            letter = parse_status(
                get("result") or "", line=header["result"][0], field="result", allowed="PFET"
            )
            report.result = cast(ReportResult, letter)
        report.uut.user = get("operator")
        report.uut.fixtureId = get("fixture")
        report.uut.batchSN = get("batch")
        report.uut.comment = get("comment")
        return report

    def _add_row(
        self,
        report: UUTReport,
        row: list[str],
        columns: dict[str, int],
        titles: dict[str, str],
        line: int,
    ) -> None:
        def cell(field: str) -> str:
            return _cell(row, columns, titles[field])

        name = cell("name")
        if not name:
            raise ConversionError("measurement name is empty", line=line, field=titles["name"])
        parent = _sequence(report.root, cell("sequence"))
        value, comp, status = cell("value"), cell("comp"), cell("status")
        try:
            op = parse_comp_op(comp) if comp else None
        except ValueError as exc:
            raise ConversionError(str(exc), line=line, field=titles["comp"]) from None
        meas_status = cast(
            "MeasStatus | None",
            parse_status(status, line=line, field=titles["status"], allowed="PFS")
            if status
            else None,
        )
        decimal = self.settings.decimal
        if value.lower() in PASS_FAIL_WORDS and not cell("low") and not cell("high"):
            parent.add_pass_fail_step(name, PASS_FAIL_WORDS[value.lower()])
        elif _is_string_row(op, value, cell("high"), decimal):
            limit = cell("limit") or cell("low") or None
            parent.add_string_step(name, value, limit, comp=op, meas_status=meas_status)
        else:
            low, high = (
                parse_number(cell(f), decimal, line=line, field=titles[f]) if cell(f) else None
                for f in ("low", "high")
            )
            number = (
                parse_reading(value, decimal, line=line, field=titles["value"]) if value else None
            )
            try:
                parent.add_numeric_step(
                    name,
                    number,
                    low,
                    high,
                    comp=op,
                    unit=cell("unit") or None,
                    meas_status=meas_status,
                )
            except ReportValidationError as exc:
                raise ConversionError(str(exc), line=line, field=titles["comp"]) from None


def _is_table_header(row: list[str], titles: dict[str, str]) -> bool:
    cells = {c.strip().lower() for c in row}
    return titles["name"] in cells and titles["value"] in cells


def _header_block(rows: list[list[str]], titles: dict[str, str]) -> dict[str, tuple[int, str]]:
    by_title = {title: field for field, title in titles.items() if field in HEADER_FIELDS}
    header = {}
    for i, row in enumerate(rows, start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        key = row[0].strip().lower()
        if key not in by_title:
            raise ConversionError(
                f"unknown header field {row[0].strip()!r}; known: {', '.join(sorted(by_title))}",
                line=i,
                field=row[0].strip(),
            )
        header[by_title[key]] = (i, row[1].strip() if len(row) > 1 else "")
    return header


def _cell(row: list[str], columns: dict[str, int], title: str) -> str:
    index = columns.get(title)
    return row[index].strip() if index is not None and index < len(row) else ""


def _is_string_row(op: CompOp | None, value: str, high: str, decimal: str) -> bool:
    """String operators make a string test; so does a non-number value without numeric limits."""
    if op in (CompOp.CASESENSIT, CompOp.IGNORECASE):
        return True
    numeric_only = op is not None and op not in STRING_OPS
    if is_nan_reading(value):  # a numeric test that read no number (the NaN policy)
        return False
    return bool(value) and not high and not numeric_only and not _is_number(value, decimal)


def _is_number(text: str, decimal: str) -> bool:
    try:
        parse_number(text, decimal, line=0, field="")
    except ConversionError:
        return False
    return True


def _sequence(root: Step, name: str) -> Step:
    if not name:
        return root
    for step in root.steps or ():
        if step.seqCall is not None and step.name == name:
            return step
    return root.add_sequence(name)
