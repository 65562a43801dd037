"""SpectrumConverter: Teradyne Spectrum in-circuit test results, `(KEY: ...)` text files.

```
(PROGRAM_NAME: "PB3187900")                              <- part number
(SECTION_NAME: "CAPACITORS")                             <- a sequence
(STEP: (TYPE: RAW) (TIME: 02/09/2023 16:44:30 )          <- a sub-sequence (first TIME = start)
     (SNAME: "CAP[C1]")
    (PAGE: (TYPE: CAP) (PAGE_NAME: "C1") (STAT: PASS)    <- a step
        (ANA: (TYPE: CAP) (STAT: PASS)
            (LOLIM: (VAL: 3.64) (SCALE: n) (UNIT: F) )
            (MEASVAL: (VAL: 4.6900024) (SCALE: n) (UNIT: F) )
            (HILIM: (VAL: 5.76) (SCALE: n) (UNIT: F) ) ) ) (STAT: PASS))
    (USER:  Serialnumber:1111111111)                     <- header fields
    (USER:  STATUS: BOARD PASSED)                        <- the verdict; the board is complete
```
See docs/converters/spectrum.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from wats_converter.converters.api import ConverterBase
from wats_converter.converters.builtin.spectrum_syntax import Node, parse
from wats_converter.converters.content import Recognition, head_lines
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import LocalTime, parse_local_time
from wats_converter.converters.tester import GrowingLogSettings, keep_verdict, log_not_finished
from wats_converter.converters.units import is_nan_reading, round_noise, unit_symbol
from wats_converter.errors import ConversionError
from wats_converter.report import Step, UUTReport, new_root
from wats_converter.report.parts import MeasStatus, ReportResult, StepStatus

_FIRST_KEY = re.compile(r"^\(\s*[A-Z][A-Z_]*\s*:")
TIME_FORMATS = ("%m/%d/%Y %H:%M:%S",)
SCALES = {"p": -12, "n": -9, "u": -6, "µ": -6, "m": -3, "": 0, "k": 3, "K": 3, "M": 6, "G": 9}
PREFIXES = {-12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G"}
STATUSES: dict[str, StepStatus] = {
    "PASS": "P",
    "FAIL": "F",
    "SKIP": "S",
    "SKIPPED": "S",
    "NOT_TESTED": "S",
    "ERROR": "E",
    "ABORT": "T",
    "ABORTED": "T",
}
VERDICTS: dict[str, ReportResult] = {
    "BOARD PASSED": "P",
    "BOARD FAILED": "F",
    "BOARD ERROR": "E",
    "BOARD ABORTED": "T",
    "BOARD TERMINATED": "T",
}
MISC = {"CustomerSerialnumber": "Customer serial number", "OrderNumber": "Order number"}
HEADER_KEYS = {"Serialnumber", "Operator", "Date", "StartTime", "EndTime", "STATUS", "version"}


class SpectrumSettings(GrowingLogSettings):
    """Spectrum settings (see docs/converters/spectrum.md)."""


@dataclass(frozen=True)
class _Quantity:
    """`(VAL: 4.69) (SCALE: n) (UNIT: F)`: a decimal value, its power of ten and its unit."""

    value: Decimal | None
    exponent: int
    unit: str | None

    def in_scale(self, exponent: int) -> float:
        assert self.value is not None
        return round_noise(float(self.value.scaleb(self.exponent - exponent)))


@dataclass
class _Board:
    program: str
    line: int
    index: int
    root: Step = field(default_factory=new_root)
    section: str = "Main"
    sequence: Step | None = None
    user: dict[str, tuple[str, int]] = field(default_factory=dict)
    misc: list[tuple[str, str]] = field(default_factory=list)
    first: LocalTime | None = None
    last: LocalTime | None = None


class SpectrumConverter(ConverterBase):
    """Reads Teradyne Spectrum ICT result files: each board (program run) is one report."""

    name = "SpectrumConverter"
    cpu_heavy = True
    supported_extensions = (".txt",)
    detects_unfinished_files = True  # its end markers tell a finished unit

    def recognizes(self, head: bytes, file_path: Path) -> Recognition:
        """A Spectrum result starts with a `(KEY: ...)` expression (any other `.txt` is not)."""
        first = next(iter(head_lines(head, 1)), "")
        if _FIRST_KEY.match(first):
            return Recognition(True, f"first line {first[:20]!r}... is a Spectrum (KEY: ...) log")
        return Recognition(False, "a Teradyne Spectrum log starts with a (KEY: ...) expression")

    Settings = SpectrumSettings

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        nodes, finished = parse(content)
        boards: list[_Board] = []
        for node in nodes:
            if node.key == "PROGRAM_NAME":
                if boards and "STATUS" not in boards[-1].user:
                    raise ConversionError(
                        "a new PROGRAM_NAME before the board's (USER: STATUS: ...) line",
                        line=node.line,
                    )
                boards.append(_Board(node.text, node.line, len(boards)))
            elif not boards:
                raise ConversionError(
                    f"({node.key}: ...) before the first (PROGRAM_NAME: ...)", line=node.line
                )
            else:
                self._top_level(boards[-1], node)
        done = [b for b in boards if "STATUS" in b.user]
        complete = finished and boards and len(done) == len(boards)
        if not done or (not complete and not self.settings.convert_before_end):
            raise log_not_finished("the board's (USER: STATUS: ...) line", self.settings)
        return [self._report(b) for b in done]

    def _top_level(self, board: _Board, node: Node) -> None:
        if node.key == "SECTION_NAME":
            board.section, board.sequence = node.text or "Main", None
        elif node.key == "SUBPROGRAM_NAME":
            board.misc.append(("Subprogram", node.text))
        elif node.key == "USER":
            key, _, value = node.text.partition(":")
            key, value = key.strip(), value.strip()
            if key in HEADER_KEYS:
                board.user[key] = (value, node.line)
            elif key:
                board.misc.append((MISC.get(key, key), value))
        elif node.key == "STEP":
            if board.sequence is None:
                board.sequence = board.root.add_sequence(board.section[:100])
            self._step(board, board.sequence, node)

    def _step(self, board: _Board, parent: Step, node: Node) -> None:
        when = node.value("TIME")
        start = None
        if when:
            local = parse_local_time(when, TIME_FORMATS, self.settings.timezone, line=node.line)
            board.first, board.last = board.first or local, local
            start = local.time
        seq = parent.add_sequence(
            (node.value("SNAME") or "step")[:100],
            start=start,
            reportText=node.value("DESC") or None,
            status=_status(node.value("STAT"), node.line),
        )
        for page in node.all("PAGE"):
            _page(seq, page)

    def _report(self, board: _Board) -> UUTReport:
        sn = board.user.get("Serialnumber", ("", 0))[0]
        if not sn:
            raise ConversionError(
                "no (USER: Serialnumber: ...) for this board", line=board.line, field="Serialnumber"
            )
        if board.first is None:
            raise ConversionError("the board has no (STEP: (TIME: ...))", line=board.line)
        report = UUTReport(
            pn=(board.program or self.settings.part_number)[:100] or "unknown",
            sn=sn[:100],
            rev=self.settings.revision,
            start=board.first.time,
            root=board.root,
        )
        board.first.note_on(report)
        for description, text in board.misc:
            report.add_misc_info(description[:100], text[:100])
        report.id = unit_id(self.display_name, sn, board.first.time.isoformat(), board.index)
        report.uut.user = (board.user.get("Operator", ("", 0))[0] or self.settings.operator)[
            :100
        ] or None
        report.uut.execTime = _exec_time(board)
        assert report.root.seqCall is not None
        report.root.seqCall.path = board.program[:500] or None
        version = board.user.get("version", ("", 0))[0] or self.settings.sequence_version
        report.root.seqCall.version = version[:30] or None
        text, line = board.user["STATUS"]
        verdict = VERDICTS.get(" ".join(text.upper().split()))
        if verdict is None:
            raise ConversionError(
                f"STATUS {text!r}: expected BOARD PASSED or BOARD FAILED", line=line, field="STATUS"
            )
        keep_verdict(report, verdict)
        return report


def _exec_time(board: _Board) -> float | None:
    """EndTime - StartTime (`HH:MM:SS:mmm`, the tester's own), else last step - first step."""
    times = [_clock(board.user.get(k, ("", 0))[0]) for k in ("StartTime", "EndTime")]
    if times[0] is not None and times[1] is not None:
        delta = times[1] - times[0]
        return (delta if delta >= timedelta(0) else delta + timedelta(days=1)).total_seconds()
    if board.first is not None and board.last is not None:
        return board.last.time.timestamp() - board.first.time.timestamp()
    return None


def _clock(text: str) -> timedelta | None:
    try:
        moment = datetime.strptime(text.strip(), "%H:%M:%S:%f")
    except ValueError:
        return None
    return moment - moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _status(text: str | None, line: int) -> StepStatus | None:
    if text is None:
        return None
    status = STATUSES.get(text.strip().upper())
    if status is None:
        raise ConversionError(f"status {text!r}: expected PASS or FAIL", line=line, field="STAT")
    return status


def _page(seq: Step, page: Node) -> None:
    name = (page.value("PAGE_NAME") or page.value("TYPE") or "page")[:100]
    status = _status(page.value("STAT"), page.line) or "P"
    notes = [t for t in (page.value("COMMENT"), page.value("FAIL_MSG")) if t]
    test = page.first("ANA") or page.first("INTC")
    result = test.first("INTC_RESULT") if test is not None else None
    measured = (test.first("MEASVAL") if test is not None else None) or (
        result.first("MEASVAL") if result is not None else None
    )
    meas = _quantity(measured)
    if test is None or meas is None or meas.value is None:
        limits = _limits_text(test)
        text = "\n".join([*notes, *([limits] if limits else [])]) or None
        seq.add_pass_fail_step(name, status == "P", status=status, reportText=text)
        return
    judged = _status((result or test).value("STAT"), test.line)
    low, high = _quantity(test.first("LOLIM")), _quantity(test.first("HILIM"))
    nominal = _quantity(test.first("NOMVAL"))
    if nominal is not None and nominal.value is not None:
        notes.append(f"nominal {nominal.in_scale(meas.exponent):g} {_unit(meas) or ''}".strip())
    value = math.nan if meas.value.is_nan() else meas.in_scale(meas.exponent)
    seq.add_numeric_step(
        name,
        value,
        low.in_scale(meas.exponent) if low is not None and low.value is not None else None,
        high.in_scale(meas.exponent) if high is not None and high.value is not None else None,
        unit=_unit(meas),
        meas_status=_meas_status(judged or status),
        status=status,
        reportText="\n".join(notes) or None,
    )


def _meas_status(status: StepStatus) -> MeasStatus:
    return "P" if status in ("P", "D") else "S" if status == "S" else "F"


def _quantity(node: Node | None) -> _Quantity | None:
    if node is None:
        return None
    text = node.value("VAL")
    scale = (node.value("SCALE") or "").strip()
    if scale not in SCALES:
        raise ConversionError(f"SCALE {scale!r} is not an SI prefix", line=node.line, field="SCALE")
    value = None
    if text is not None and text.strip():
        try:
            value = Decimal("NaN") if is_nan_reading(text) else Decimal(text.strip())
        except InvalidOperation:
            raise ConversionError(
                f"VAL {text!r} is not a number", line=node.line, field="VAL"
            ) from None
        if not value.is_nan() and not value.is_finite():
            raise ConversionError(f"VAL {text!r} is not finite", line=node.line, field="VAL")
    return _Quantity(value, SCALES[scale], unit_symbol(node.value("UNIT")))


def _unit(quantity: _Quantity) -> str | None:
    if quantity.unit is None:
        return None
    return PREFIXES.get(quantity.exponent, f"e{quantity.exponent}") + quantity.unit


def _limits_text(test: Node | None) -> str | None:
    """The limits of a test without a reading, as text (`high limit 30 mV`)."""
    if test is None:
        return None
    parts = []
    for key, label in (
        ("LOLIM", "low limit"),
        ("HILIM", "high limit"),
        ("RES_LIMIT", "resistance limit"),
        ("CAP_LIMIT", "capacitance limit"),
    ):
        quantity = _quantity(test.first(key))
        if quantity is not None and quantity.value is not None:
            parts.append(f"{label} {quantity.value} {_unit(quantity) or ''}".strip())
    return ", ".join(parts) or None
