"""GR228XConverter: Teradyne (GenRad) GR228X in-circuit test logs (`*.LOG`), one report per board.

```
F:\\BOARDS\\43420_BIO2_PROGRAM\\43420_BIO2.obc[31-JUL-12  14:17:35    <- a program session opens
@31-JUL-12  14:19:32 SN 24422984989544535753                      <- a board starts
(O 397,398,                                                       <- an opens failure and its nodes
R508=100.20007K(92.919K,105.131K)R                                <- a measurement with limits
R402=45.131532MEG(500K,)R                                         <- low limit only: GE
R211#10.636159(,)R                                                <- logged only: Done
/31-JUL-12  14:19:49                                              <- the board ended: failed
]31-jul-12  14:32:13                                              <- the session is closed
```
See docs/converters/gr228x.md for every line kind and setting.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from wats_converter.converters.api import ConverterBase, SkipFile
from wats_converter.converters.components import component_class
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import LocalTime, parse_local_time
from wats_converter.converters.tester import (
    GrowingLogSettings,
    RegexSetting,
    keep_verdict,
    log_not_finished,
)
from wats_converter.converters.units import OHM, is_nan_reading, parse_si
from wats_converter.errors import ConversionError
from wats_converter.report import Step, UUTReport
from wats_converter.report.parts import MeasStatus, ReportResult, StepStatus

TIME = r"\d{1,2}-[A-Za-z]{3}-\d{2}\s+\d{1,2}:\d{2}:\d{2}"
TIME_FORMATS = ("%d-%b-%y %H:%M:%S",)
SESSION = re.compile(rf"^(?P<path>[^\[@]+)\[(?P<time>{TIME})\s*$")
EVENT = re.compile(rf"^(?P<mark>[@\"/?!*&\]])(?P<time>{TIME})(?:\s+SN\s*(?P<sn>.*?))?\s*$")
FAILURE = re.compile(r"^\((?P<kind>[SOBCF])\s*(?P<nodes>.*?)\s*(?P<more>\+)?\s*$")
CONTINUATION = re.compile(r"^[\w\s,]*(?P<more>\+)?\s*$")
READING = re.compile(
    r"^(?P<ref>[^=#<>%()\s][^=#<>%()]*?)(?P<mark>[=#<>%])(?P<value>[^()]*?)\s*"
    r"(?:\((?P<low>[^,()]*),(?P<high>[^,()]*)\))?\s*(?P<type>[A-Za-z]*)\s*$"
)
EXTENSION = re.compile(r"^WATS_(?P<key>\w+)=(?P<value>.*?)\s*$")
POSITION = re.compile(r"^TOP_OF_LOOP-(?P<pos>[A-Za-z])\s*$")

RESULTS: dict[str, ReportResult] = {
    '"': "P",
    "/": "F",
    "?": "T",
    "!": "T",
    "*": "E",
    "&": "E",
}
FAILURES = {
    "S": ("Shorts", "Short"),
    "O": ("Opens", "Open"),
    "B": ("Bus", "Bus failure"),
    "C": ("Scratch", "Scratch failure"),
    "F": ("Fixture", "Fixture failure"),
}
# GR228X writes prefixes in upper case; M is milli there and MEG mega
_UPPER_PREFIX = re.compile(r"(?<=[\d.])([PNU])$")


class GR228XSettings(GrowingLogSettings):
    """GR228X settings (see docs/converters/gr228x.md).

    Attributes:
        part_number_pattern: a regex on the program file name (`43420_BIO2.obc`) whose first
            group is the part number; empty = take `part_number` (or the file name).
        skip_empty_terminated: leave out a terminated board with no reading and no failure.
    """

    part_number_pattern: RegexSetting = r"^([^_.]+)"
    skip_empty_terminated: bool = True


@dataclass
class _Session:
    path: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    closed: bool = False


@dataclass(frozen=True)
class _Reading:
    ref: str
    mark: str
    value: str
    low: str | None
    high: str | None
    kind: str
    line: int


@dataclass(frozen=True)
class _Failure:
    kind: str
    nodes: tuple[str, ...]
    line: int


@dataclass
class _Board:
    session: _Session
    sn: str
    start: LocalTime
    line: int
    index: int
    position: str | None
    items: list[_Reading | _Failure] = field(default_factory=list)
    result: ReportResult | None = None
    end: LocalTime | None = None
    fields: dict[str, str] = field(default_factory=dict)
    note: str | None = None


class GR228XConverter(ConverterBase):
    """Reads GR228X ICT session logs: every board of every session becomes one report."""

    name = "GR228XConverter"
    cpu_heavy = True
    supported_extensions = (".log",)
    detects_unfinished_files = True  # its end markers tell a finished unit
    Settings = GR228XSettings

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        boards, sessions = _Parser(self.settings.timezone).parse(content)
        finished = bool(sessions) and all(s.closed for s in sessions)
        if not finished and not self.settings.convert_before_end:
            raise log_not_finished("the session end line `]`", self.settings)
        ready = [b for b in boards if b.result is not None]
        if self.settings.skip_empty_terminated:
            ready = [b for b in ready if b.items or b.result != "T"]
        if not ready:
            if not finished:
                raise log_not_finished("the end line of the first board", self.settings)
            raise SkipFile("the log holds no tested board")
        return [self._report(b) for b in ready]

    def _report(self, board: _Board) -> UUTReport:
        fields = board.fields
        report = UUTReport(
            pn=fields.get("partNumber") or self._part_number(board.session.path),
            sn=board.sn,
            rev=fields.get("partRevision") or self.settings.revision,
            start=board.start.time,
            machineName=fields.get("stationName") or None,
        )
        board.start.note_on(report)
        report.id = unit_id(self.display_name, board.sn, board.start.time.isoformat(), board.index)
        report.uut.user = fields.get("operator") or self.settings.operator or None
        if board.position is not None:
            report.uut.testSocketIndex = ord(board.position.upper()) - ord("A")
        if board.end is not None:
            report.uut.execTime = max(
                0.0, board.end.time.timestamp() - board.start.time.timestamp()
            )
        assert report.root.seqCall is not None
        report.root.seqCall.path = (fields.get("sequenceName") or board.session.path)[:500]
        version = fields.get("sequenceVersion") or self.settings.sequence_version
        report.root.seqCall.version = version[:30] or None
        sequences: dict[str, Step] = {}
        for item in board.items:
            if isinstance(item, _Failure):
                _add_failure(_sequence(report.root, sequences, FAILURES[item.kind][0]), item)
            else:
                _add_reading(
                    _sequence(report.root, sequences, component_class(item.ref).name), item
                )
        if board.note:
            report.add_conversion_note(board.note)
        assert board.result is not None
        keep_verdict(report, board.result)
        return report

    def _part_number(self, path: str) -> str:
        program = re.split(r"[\\/]", path.strip())[-1]
        pattern = self.settings.part_number_pattern
        match = re.search(pattern, program) if pattern else None
        found = "" if match is None else match.group(1) if match.groups() else match.group(0)
        return (found or self.settings.part_number or program)[:100]


def _sequence(root: Step, sequences: dict[str, Step], name: str) -> Step:
    if name not in sequences:
        sequences[name] = root.add_sequence(name)
    return sequences[name]


def _add_failure(seq: Step, failure: _Failure) -> None:
    nodes = ", ".join(failure.nodes) or "(none listed)"
    seq.add_pass_fail_step(FAILURES[failure.kind][1], False, reportText=f"nodes: {nodes}")


def _add_reading(seq: Step, reading: _Reading) -> None:
    name = reading.ref[:100]
    low = _limit(reading.low, reading.line, "low limit")
    high = _limit(reading.high, reading.line, "high limit")
    if not reading.value:
        if reading.mark == "#":
            seq.add_action_step(name, status="D")
            return
        given = low is not None or high is not None
        limits = f"limits ({reading.low or ''}, {reading.high or ''})" if given else None
        seq.add_pass_fail_step(name, reading.mark == "=", reportText=limits)
        return
    value = _number(reading.value, reading.line, "value")
    passed = reading.mark == "="
    status: StepStatus = "P" if passed else "F"
    meas_status: MeasStatus | None = "P" if passed else "F"
    if reading.mark == "#":  # logged only: Done, the measurement judged by its limits if any
        status, meas_status = "D", None
    seq.add_numeric_step(
        name,
        value,
        low,
        high,
        unit=_unit(reading.kind),
        meas_status=meas_status,
        status=status,
    )


def _limit(text: str | None, line: int, what: str) -> float | None:
    limit = _number(text, line, what)
    if limit is not None and math.isnan(limit):
        raise ConversionError(f"{what} {text!r} is not a number", line=line, field=what)
    return limit


def _number(text: str | None, line: int, what: str) -> float | None:
    if text is None or not text.strip():
        return None
    if is_nan_reading(text):
        return math.nan
    cleaned = _UPPER_PREFIX.sub(lambda m: m.group(1).lower(), text.strip())
    return parse_si(cleaned, m_means="milli", line=line, field=what)


def _unit(kind: str) -> str | None:
    """The unit a GR228X measurement type implies: R AR resistance, C CP CS capacitance, ..."""
    kind = kind.upper()
    if kind.endswith("R"):
        return OHM
    if kind.startswith("C"):
        return "F"
    if kind.startswith("V"):
        return "V"
    if kind.startswith("I"):
        return "A"
    if kind.startswith("L"):
        return "H"
    return None


class _Parser:
    """Lines -> sessions and boards, with the line each came from."""

    def __init__(self, timezone: str) -> None:
        self.timezone = timezone
        self.sessions: list[_Session] = []
        self.boards: list[_Board] = []
        self.board: _Board | None = None
        self.position: str | None = None
        self.continues: _Failure | None = None

    def parse(self, content: str) -> tuple[list[_Board], list[_Session]]:
        lines = content.split("\n")
        if lines and lines[-1].strip() and not _is_session_end(lines[-1]):
            lines.pop()  # the tester is still writing this line
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if line:
                self._line(line, number)
        return self.boards, self.sessions

    def _line(self, line: str, number: int) -> None:
        if self.continues is not None:
            more = CONTINUATION.match(line)
            if more is not None and not EVENT.match(line):
                nodes = tuple(n for n in re.split(r"[\s,]+", line.rstrip("+")) if n)
                self._replace_failure(nodes, bool(more.group("more")))
                return
            self.continues = None
        if (event := EVENT.match(line)) is not None:
            self._event(event, number)
        elif (session := SESSION.match(line)) is not None:
            self._open_session(session, number)
        elif (ext := EXTENSION.match(line)) is not None:
            self._extension(ext.group("key"), ext.group("value"), number)
        elif (pos := POSITION.match(line)) is not None:
            self.position = pos.group("pos")
        elif (failure := FAILURE.match(line)) is not None:
            nodes = tuple(n for n in re.split(r"[\s,]+", failure.group("nodes")) if n)
            item = _Failure(failure.group("kind"), nodes, number)
            self._current(number, "a failure line").items.append(item)
            self.continues = item if failure.group("more") else None
        elif (reading := READING.match(line)) is not None:
            self._current(number, "a measurement").items.append(
                _Reading(
                    reading.group("ref").strip(),
                    reading.group("mark"),
                    reading.group("value").strip(),
                    reading.group("low"),
                    reading.group("high"),
                    reading.group("type"),
                    number,
                )
            )
        else:
            raise ConversionError(f"not a GR228X log line: {line[:60]!r}", line=number)

    def _replace_failure(self, nodes: tuple[str, ...], more: bool) -> None:
        assert self.continues is not None
        assert self.board is not None
        longer = _Failure(self.continues.kind, self.continues.nodes + nodes, self.continues.line)
        self.board.items[self.board.items.index(self.continues)] = longer
        self.continues = longer if more else None

    def _current(self, number: int, what: str) -> _Board:
        if self.board is None:
            raise ConversionError(
                f"{what} outside a board (no `@<time> SN <serial>` line before it)", line=number
            )
        return self.board

    def _time(self, text: str, number: int, what: str) -> LocalTime:
        return parse_local_time(text, TIME_FORMATS, self.timezone, line=number, field=what)

    def _open_session(self, match: re.Match[str], number: int) -> None:
        self._close_board("a new session started", number)
        self.sessions.append(_Session(match.group("path").strip(), number))
        self.position = None

    def _extension(self, key: str, value: str, number: int) -> None:
        target = self.board.fields if self.board is not None else None
        if target is None:
            if not self.sessions:
                raise ConversionError(f"WATS_{key} before the first session line", line=number)
            target = self.sessions[-1].fields
        target[key] = value

    def _event(self, match: re.Match[str], number: int) -> None:
        mark = match.group("mark")
        if not self.sessions or self.sessions[-1].closed:
            raise ConversionError(
                f"`{mark}` line outside a program session (no `<program>.obc[<time>` line "
                "before it)",
                line=number,
            )
        when = self._time(match.group("time"), number, "time")
        if mark == "@":
            self._close_board("the next board started", number)
            serial = (match.group("sn") or "").strip()
            if not serial:
                raise ConversionError("board without a serial number (`SN <serial>`)", line=number)
            session = self.sessions[-1]
            self.board = _Board(
                session, serial[:100], when, number, len(self.boards), self.position
            )
            # a board's header is what was written before it: later lines never change it
            self.board.fields = dict(session.fields)
            self.boards.append(self.board)
        elif mark == "]":
            self._close_board("the session ended", number)
            self.sessions[-1].closed = True
        else:
            board = self._current(number, f"the end line `{mark}`")
            board.result, board.end = RESULTS[mark], when
            self.board = None

    def _close_board(self, why: str, number: int) -> None:
        """A board still open when something else starts never got its end line."""
        if self.board is not None:
            self.board.result = "T"
            self.board.note = f"no end line for this board ({why}, line {number}): terminated"
            self.board = None


def _is_session_end(line: str) -> bool:
    match = EVENT.match(line.strip())
    return match is not None and match.group("mark") == "]"
