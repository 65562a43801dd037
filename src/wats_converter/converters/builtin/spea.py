"""SPEAConverter: SPEA 3030 in-circuit test logs (`;`-separated), one report per run.

```
FORMAT;mmdd                                                     <- month-first dates
START;Programme;23462-TS;1.0.2;23462-TS;Test Operator op1;10/12/2024;16:15:03
LOT;
ANL;1;R562;554;1;RESR562 1K 1% -1% Mounted!;;FAIL(-);1.642710e+05;2.000000e+05;1.0e+10;ohm;…
ANL;1;C332;763;1;CAPC332 1nF 10% -10%;;FAIL(+/-);-NAN;8.500000e-10;1.150000e-09;F;…
SN;SN9871234012
BOARDRESULT;FAIL
END;FAIL;10/12/2024;16:15:22                                    <- the run (unit) ends
```
One file holds many runs and grows run by run. The file is read line by line, so memory holds
one run besides the finished reports. See docs/converters/spea.md.
"""

from __future__ import annotations

import codecs
import io
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wats_converter.converters.api import ConversionContext, ConverterBase
from wats_converter.converters.components import component_class
from wats_converter.converters.content import Recognition, head_lines
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import LocalTime, parse_local_time
from wats_converter.converters.tester import (
    GrowingLogSettings,
    keep_verdict,
    log_not_finished,
)
from wats_converter.converters.text import BOMS
from wats_converter.converters.units import is_nan_reading, unit_symbol
from wats_converter.converters.values import parse_number
from wats_converter.errors import ConversionError
from wats_converter.report import Step, UUTReport, new_root
from wats_converter.report.parts import MeasStatus, ReportResult

MAX_LINE_CHARS = 64 * 1024
DATE_ORDERS = {"mmdd": "%m/%d/%Y %H:%M:%S", "ddmm": "%d/%m/%Y %H:%M:%S"}
STEP_RECORDS = ("ANL", "FUNC")
VERDICTS: dict[str, ReportResult] = {"PASS": "P", "FAIL": "F"}
END_LINE = re.compile(r"^END;(PASS|FAIL);[^;]+;[^;]+\s*$")


class SPEASettings(GrowingLogSettings):
    """SPEA settings (see docs/converters/spea.md). SPEA logs carry no part number:
    `part_number` names it (default: the test program's name from the START line)."""


@dataclass
class _Group:
    """The rows of one test (same reference and test number) until the next test starts."""

    key: tuple[str, str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass
class _Run:
    start: LocalTime
    line: int
    index: int
    fields: list[str]
    root: Step = field(default_factory=new_root)
    sequences: dict[str, Step] = field(default_factory=dict)
    group: _Group | None = None
    lot: str = ""
    sn: str = ""


class SPEAConverter(ConverterBase):
    """Reads SPEA 3030 ICT logs: every START..END run becomes one report."""

    name = "SPEAConverter"
    cpu_heavy = True
    supported_extensions = (".csv",)
    detects_unfinished_files = True  # its end markers tell a finished unit

    def recognizes(self, head: bytes, file_path: Path) -> Recognition:
        """A SPEA log starts with its FORMAT or START line (any other `.csv` is not one)."""
        first = next(iter(head_lines(head, 1)), "")
        if first.split(";", 1)[0] in ("FORMAT", "START"):
            return Recognition(True, f"first line {first[:20]!r}... is a SPEA 3030 log")
        return Recognition(False, "a SPEA 3030 log starts with a FORMAT or START line")

    Settings = SPEASettings

    def convert_file(self, file_path: Path, context: ConversionContext) -> list[UUTReport]:
        return list(self.iter_reports(file_path))

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        lines = io.StringIO(content, newline="")
        return list(self._reports(enumerate(lines, start=1)))

    def iter_reports(self, file_path: Path) -> Iterator[UUTReport]:
        """The file's reports one by one, reading one line at a time (bounded memory)."""
        with file_path.open("rb") as f:
            yield from self._reports(_text_lines(f, self.settings))

    def _reports(self, lines: Iterable[tuple[int, str]]) -> Iterator[UUTReport]:
        reader = _RunReader(self)
        seen_any = False
        for number, raw in lines:
            if not raw.endswith("\n") and not END_LINE.match(raw):
                break  # the tester is still writing this last line
            line = raw.rstrip("\r\n")
            if "\x00" in line:
                raise ConversionError("line contains NUL bytes: binary or damaged", line=number)
            if not line.strip():
                continue
            if not seen_any and line.split(";", 1)[0] not in ("FORMAT", "START"):
                raise ConversionError(
                    "not a SPEA 3030 log: expected a FORMAT or START line first", line=number
                )
            seen_any = True
            report = reader.line(line.split(";"), number)
            if report is not None:
                yield report
        unfinished = reader.run is not None and not self.settings.convert_before_end
        if unfinished or not reader.emitted:
            raise log_not_finished("the END line of the last run", self.settings)


class _RunReader:
    def __init__(self, converter: SPEAConverter) -> None:
        self.converter = converter
        self.settings: SPEASettings = converter.settings
        self.date_format = DATE_ORDERS["mmdd"]
        self.run: _Run | None = None
        self.runs = 0
        self.emitted = 0

    def line(self, cells: list[str], number: int) -> UUTReport | None:
        kind = cells[0].strip()
        if kind == "FORMAT":
            order = cells[1].strip().lower() if len(cells) > 1 else ""
            if order not in DATE_ORDERS:
                raise ConversionError(
                    f"FORMAT {order!r}: expected mmdd or ddmm", line=number, field="FORMAT"
                )
            self.date_format = DATE_ORDERS[order]
            return None
        if kind == "START":
            return self._start(cells, number)
        run = self.run
        if run is None:
            raise ConversionError(f"{kind} line outside a run (no START before it)", line=number)
        if kind in STEP_RECORDS:
            _add_row(run, cells, number)
        elif kind == "LOT":
            run.lot = cells[1].strip() if len(cells) > 1 else ""
        elif kind == "SN":
            run.sn = cells[1].strip() if len(cells) > 1 else ""
        elif kind == "BOARDRESULT":
            pass  # END repeats the verdict with the end time
        elif kind == "END":
            return self._end(run, cells, number)
        else:
            raise ConversionError(f"unknown SPEA record {kind[:30]!r}", line=number)
        return None

    def _time(self, date: str, time: str, number: int, what: str) -> LocalTime:
        return parse_local_time(
            f"{date} {time}", [self.date_format], self.settings.timezone, line=number, field=what
        )

    def _start(self, cells: list[str], number: int) -> UUTReport | None:
        if len(cells) < 8:
            raise ConversionError(
                "START needs program;sequence;version;sequence;operator;date;time",
                line=number,
                field="START",
            )
        unfinished = self.run
        start = self._time(cells[6], cells[7], number, "start")
        self.run = _Run(start, number, self.runs, cells)
        self.runs += 1
        if unfinished is None:
            return None
        if not unfinished.sn:
            raise ConversionError(
                f"the run that started at line {unfinished.line} has no SN and no END line",
                line=number,
            )
        return self._report(
            unfinished, "T", None, f"run has no END line (next START at line {number})"
        )

    def _end(self, run: _Run, cells: list[str], number: int) -> UUTReport:
        verdict = VERDICTS.get(cells[1].strip().upper()) if len(cells) > 1 else None
        if verdict is None or len(cells) < 4:
            raise ConversionError("END needs PASS or FAIL, date and time", line=number, field="END")
        if not run.sn:
            raise ConversionError(
                f"the run that started at line {run.line} has no SN line", line=number, field="SN"
            )
        end = self._time(cells[2], cells[3], number, "end")
        self.run = None
        return self._report(run, verdict, end, None)

    def _report(
        self, run: _Run, verdict: ReportResult, end: LocalTime | None, note: str | None
    ) -> UUTReport:
        _flush(run)
        program, sequence, version, operator = (run.fields[i].strip() for i in (1, 2, 3, 5))
        report = UUTReport(
            pn=(self.settings.part_number or sequence or program or "unknown")[:100],
            sn=run.sn[:100],
            rev=self.settings.revision,
            start=run.start.time,
            root=run.root,
        )
        run.start.note_on(report)
        report.id = unit_id(
            self.converter.display_name, run.sn, run.start.time.isoformat(), run.index
        )
        report.uut.user = (operator or self.settings.operator)[:100] or None
        report.uut.batchSN = run.lot[:100] or None
        if end is not None:
            report.uut.execTime = max(0.0, end.time.timestamp() - run.start.time.timestamp())
        assert report.root.seqCall is not None
        report.root.seqCall.path = (sequence or program)[:500] or None
        report.root.seqCall.version = (version or self.settings.sequence_version)[:30] or None
        if note:
            report.add_conversion_note(note)
        keep_verdict(report, verdict)
        self.emitted += 1
        return report


def _add_row(run: _Run, cells: list[str], number: int) -> None:
    if len(cells) < 11:
        raise ConversionError(
            f"{cells[0]} needs at least 11 fields (…;name;;status;measured;low;high), got "
            f"{len(cells)}",
            line=number,
        )
    key = (cells[2].strip(), cells[3].strip())
    if run.group is None or run.group.key != key:
        _flush(run)
        run.group = _Group(key)
    run.group.rows.append((number, cells))


def _flush(run: _Run) -> None:
    """Add the finished test's rows: one step, or a sub-sequence when it has several."""
    group, run.group = run.group, None
    if group is None:
        return
    ref = group.key[0]
    cls = component_class(ref).name
    if cls not in run.sequences:
        run.sequences[cls] = run.root.add_sequence(cls)
    parent = run.sequences[cls]
    if len(group.rows) > 1:
        parent = parent.add_sequence((ref or cls)[:100])
    for number, cells in group.rows:
        _add_step(parent, cells, number)


def _add_step(seq: Step, cells: list[str], number: int) -> None:
    name = (cells[5].strip() or cells[2].strip() or cells[0])[:100]
    word = cells[7].strip().upper()
    status: MeasStatus
    if word == "PASS":
        status = "P"
    elif word.startswith("FAIL"):  # FAIL(+), FAIL(-), FAIL(+/-): above, below, no reading
        status = "F"
    else:
        raise ConversionError(
            f"status {cells[7]!r}: expected PASS or FAIL", line=number, field="status"
        )
    reading = cells[8].strip()
    if not any(c.isdigit() for c in reading) and not is_nan_reading(reading):
        # shorts and float tests write a word ("Automatic") instead of a reading
        seq.add_pass_fail_step(name, status == "P", status=status, reportText=reading or None)
        return
    value = _number(reading, number, "measured")
    low = _limit(cells[9], number, "low limit")
    high = _limit(cells[10], number, "high limit")
    unit = unit_symbol(cells[11]) if len(cells) > 11 else None
    if not low and not high and (value == 0 or math.isnan(value)):
        seq.add_pass_fail_step(name, status == "P", status=status)
        return
    # a limit of 0 (or none) means that side is open
    seq.add_numeric_step(
        name,
        value,
        low or None,
        high or None,
        unit=unit,
        meas_status=status,
        status=status,
    )


def _number(text: str, number: int, what: str) -> float:
    if not text.strip():
        return 0.0
    if is_nan_reading(text):
        return math.nan
    return parse_number(text, line=number, field=what)


def _limit(text: str, number: int, what: str) -> float:
    limit = _number(text, number, what)
    if math.isnan(limit):
        raise ConversionError(f"{what} {text!r} is not a number", line=number, field=what)
    return limit


def _text_lines(f: io.BufferedReader, settings: SPEASettings) -> Iterator[tuple[int, str]]:
    """(line number, text with its line end) for each line of a binary file, decoded."""
    head = f.peek(4)[:4]
    codec = settings.encoding if settings.encoding != "auto" else None
    for bom, name in BOMS if codec is None else ():
        if head.startswith(bom):
            codec = name
            break
    if codec is not None and _wide(codec):
        text = io.TextIOWrapper(f, encoding=codec, newline="")
        for number, line in enumerate(iter(lambda: text.readline(MAX_LINE_CHARS + 1), ""), 1):
            yield number, _bounded(line, number)
        return
    for number, raw in enumerate(iter(lambda: f.readline(MAX_LINE_CHARS + 1), b""), 1):
        yield number, _bounded(_decode(raw, codec, settings.fallback_encoding, number), number)


def _wide(codec: str) -> bool:
    """Whether `codec` encodes a line end in more than one byte (read through a text layer)."""
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        raise ConversionError(f"unknown encoding {codec!r} (setting `encoding`)") from None
    return name.startswith(("utf-16", "utf-32"))


def _bounded(line: str, number: int) -> str:
    if len(line) > MAX_LINE_CHARS:
        raise ConversionError(
            f"line longer than {MAX_LINE_CHARS} characters: not a SPEA log", line=number
        )
    return line


def _decode(raw: bytes, codec: str | None, fallback: str, number: int) -> str:
    try:
        if codec is None:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode(fallback)
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise ConversionError(
            f"not valid {codec or fallback} text; set the converter's `encoding` setting",
            line=number,
        ) from None
