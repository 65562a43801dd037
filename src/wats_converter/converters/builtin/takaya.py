"""TakayaConverter: Takaya flying-probe result files (`.ATD`, tab separated, and APT94xx ATD).

One file is one panel run. Its header (between the first two `@` lines) names the program
(`Model:`), the start (`DATE d/M/yyyy HH:mm:ss`, day first, local time) and the tester
(`Test ID :`). Each `* GROUP No.n *` block is one board of the panel: one report, with its own
`Serial No.:` and the tester's `* PASS *` / `* FAIL *` verdict. A closing `@` ends the file.

Rows come in two layouts, told apart by their form:

- tab separated, after a `Group_No.<TAB>Step_number...` column header (read by column name);
- APT94xx: `000932 "P2P1" "P-Auto" "VNET1-VNET2" 326 330 "400.0 O" "409.5 O" "........" +5% -5%
  "PASS" ... "OP"`, fields in double quotes, 19 per row.

The row's function code gives the comparison: `**` GELE ref·(1-tol-)..ref·(1+tol+), `SH` a
short (LT `short_limit_ohm`), `OP` an open (GT `open_limit_ohm`), `D` LTGE with the tolerance
band, `E` LE ref, `F` GE ref; `JP` / `JUMP` rows are jumpers (not tests) and are skipped. A
second reading (`Test value 2`) is the tester's retest and is the step's value. Readings and
limits are stored in base units (Ω, F, H, V): `KO` is kΩ, `UF` µF, `nF`, `pF`, `UH` µH; `O`
means ohm; a prefix is taken from the display value and its unit, for the reference and the
readings alike. See docs/converters/takaya.md.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from wats_converter.converters.api import ConverterBase, ConverterSettings, RetryLater
from wats_converter.converters.components import component_class
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import parse_local_time
from wats_converter.converters.tester import RegexSetting, keep_verdict
from wats_converter.converters.units import OHM, parse_si, round_noise
from wats_converter.errors import ConversionError
from wats_converter.report import CompOp, Step, UUTReport, numeric_passes
from wats_converter.report.parts import MeasStatus

END_MARKER = "@"
DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M:%S")
AUTO_SEQUENCE = "Shorts and opens (P-Auto)"
JUMPERS = frozenset({"JP", "JUMP"})
NO_READING = "........"
SNIFF_BYTES = 2048

_GROUP = re.compile(r"^\*\s*GROUP\s+No\.\s*(\d+)\s*\*$")
_VERDICT = re.compile(r"^\*\s*(PASS|FAIL)\s*\*$")
_COUNTERS = re.compile(r"^D\.T:")
_APT_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_DISPLAY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([^\s\d.+-]*)\s*$")
_TOLERANCE = re.compile(r"^[+-]?(\d+(?:\.\d+)?)\s*%$")
_NOMINAL = re.compile(r"^[\d.]+\s*[A-Za-zµ]*$")
_SERIAL_TAG = re.compile(r"^(?P<sn>.*?)\s*\((?P<tag>[^()]*)\)\s*$")
_PROGRAM_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_BASE_UNITS = {"O": OHM, OHM: OHM, "F": "F", "H": "H", "V": "V", "A": "A"}
# Takaya writes micro and nano in capitals (`UF`, `UH`, `NF`); `M` is mega (`MO` megohm)
_PREFIXES = {"p": "p", "n": "n", "N": "n", "u": "u", "U": "u", "µ": "u", "m": "m", "k": "k"}
_PREFIXES |= {"K": "k", "M": "M", "G": "G"}
_JUDGEMENTS: dict[str, MeasStatus] = {"PASS": "P", "FAIL": "F", "NG": "F"}
_COLUMNS = {
    "part": ("Parts", 1),
    "value": ("Value", 1),
    "comment": ("Comment", 1),
    "h_net": ("Net_name", 1),
    "l_net": ("Net_name", 2),
    "judgement": ("Judgement", 1),
    "ref": ("Ref._Value_(Char)", 1),
    "ref_unit": ("Unit", 2),
    "test1": ("Test_Value_1_(Char)", 1),
    "test1_unit": ("Unit", 3),
    "test2": ("Test_Value_2_(Char)", 1),
    "test2_unit": ("Unit", 4),
    "tol_plus": ("Tolerance_(+)%", 1),
    "tol_minus": ("Tolerance_(-)%", 1),
    "function": ("Function", 1),
}
APT_FIELDS = 19


class TakayaConverter(ConverterBase):
    """Takaya flying probe `.ATD` files (both layouts): one report per panel group."""

    name = "TakayaConverter"
    cpu_heavy = True
    supported_extensions = (".atd",)
    detects_unfinished_files = True  # its end markers tell a finished unit

    class Settings(ConverterSettings):
        """Settings of `TakayaConverter` (see docs/converters/takaya.md).

        Attributes:
            timezone: IANA zone of the tester's clock; empty = the station's zone.
            part_number: the part number when the file has no `Model:` line.
            model_pattern: a regex applied to the program name (the `Model:` value without its
                extension); named groups `pn` and `rev` give part number and revision.
            revision: the revision when `model_pattern` gives none.
            sequence_version: the root sequence's version.
            operator: the operator when the file names none.
            short_limit_ohm: an `SH` (short) row passes below this resistance.
            open_limit_ohm: an `OP` (open) row passes above this resistance.
            incomplete_grace_s: a file without its closing `@` younger than this is being
                written (retried later); older, it is truncated (an error).
        """

        timezone: str = ""
        part_number: str = ""
        model_pattern: RegexSetting = ""
        revision: str = ""
        sequence_version: str = ""
        operator: str = ""
        short_limit_ohm: float = Field(default=10.0, gt=0)
        open_limit_ohm: float = Field(default=100.0, gt=0)
        incomplete_grace_s: float = Field(default=300.0, ge=0)

    def matches_file(self, file_path: Path) -> bool:
        """`.ATD` files, and files of another extension whose first lines are a Takaya header."""
        if super().matches_file(file_path):
            return True
        try:
            with file_path.open("rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError:
            return False
        return looks_like_atd(head.decode("latin-1"))

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        # completeness first: a file being written may end in half a row
        lines = [line.strip() for line in content.splitlines()]
        _check_start(lines)
        if next((line for line in reversed(lines) if line), "") != END_MARKER:
            self._incomplete(file_path, len(lines))
        panel = parse_atd(content)
        return [self._report(group, index) for index, group in enumerate(panel.groups)]

    def _incomplete(self, file_path: Path, lines: int) -> None:
        try:
            age = time.time() - os.stat(file_path).st_mtime
        except OSError:
            age = math.inf
        if age < self.settings.incomplete_grace_s:
            raise RetryLater("the closing '@' line is not written yet", after_s=10.0)
        raise ConversionError(
            "the file ends without its closing '@' line: it is truncated", line=lines
        )

    def _report(self, group: _Group, index: int) -> UUTReport:
        header = group.header
        pn, rev = self._part(header.model)
        start = parse_local_time(
            header.date, DATE_FORMATS, self.settings.timezone, line=header.date_line, field="DATE"
        )
        sn, tag = _split_serial(group.serial)
        operator = tag.operator or header.operator or self.settings.operator or None
        report = UUTReport(pn=pn, sn=sn, rev=rev, start=start.time)
        start.note_on(report)
        report.id = unit_id(self.display_name, sn, start.time.isoformat(), index)
        report.machineName = header.station or None
        report.uut.user = operator
        report.uut.testSocketIndex = group.number
        assert report.root.seqCall is not None
        report.root.seqCall.name = header.model or pn
        report.root.seqCall.version = self.settings.sequence_version or None
        if tag.fixture:
            report.uut.fixtureId = tag.fixture
        if header.test_time:
            report.add_misc_info("Panel test time", header.test_time[:100])
        self._steps(report, group)
        keep_verdict(report, "P" if group.verdict == "PASS" else "F")
        return report

    def _part(self, model: str) -> tuple[str, str]:
        program = _PROGRAM_EXTENSION.sub("", model)
        pn, rev = program or self.settings.part_number, self.settings.revision
        if self.settings.model_pattern and program:
            match = re.search(self.settings.model_pattern, program)
            if match is None:
                raise ConversionError(
                    f"Model {model!r} does not match the model_pattern setting", field="Model"
                )
            found = match.groupdict()
            pn = found.get("pn") or pn
            rev = found.get("rev") or rev
        if not pn:
            raise ConversionError(
                "the file has no Model: line; set the converter's part_number", field="Model"
            )
        return pn[:100], rev[:100]

    def _steps(self, report: UUTReport, group: _Group) -> bool:
        """Add the group's rows as steps, one sequence per component class; True if any failed."""
        sequences: dict[str, Step] = {}
        seen: dict[str, int] = {}
        failed = False
        for row in group.rows:
            if row.function in JUMPERS:
                continue
            name = _step_name(row)
            # a part tested more than once on the same nets (L1 short and open twice): the
            # repeats are numbered, so each name means the same test on every board
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name[:94]} [{seen[name]}]"
            sequence_name = (
                AUTO_SEQUENCE if row.value == "P-Auto" else component_class(row.part).name
            )
            sequence = sequences.get(sequence_name)
            if sequence is None:
                sequence = sequences[sequence_name] = report.root.add_sequence(sequence_name)
            failed |= self._step(sequence, row, name)
        return failed

    def _step(self, sequence: Step, row: _Row, name: str) -> bool:
        reading = row.test2 if row.test2 != NO_READING else row.test1
        reading_unit = row.test2_unit if row.test2 != NO_READING else row.test1_unit
        value, unit = (
            (math.nan, _unit_only(reading_unit or row.ref_unit, row.line))
            if reading == NO_READING
            else _reading(reading, reading_unit, row.line, "Test value")
        )
        op, low, high = self._limits(row, unit)
        status = _JUDGEMENTS.get(row.judgement)
        notes = []
        if row.test2 != NO_READING and row.test1 != NO_READING:
            first, _ = _reading(row.test1, row.test1_unit, row.line, "Test value 1")
            verdict = "inside" if numeric_passes(op, first, low, high) else "outside"
            notes.append(
                f"retested: first reading {row.test1} {row.test1_unit} ({verdict} the limits)"
            )
        passes = math.isnan(value) is False and numeric_passes(op, value, low, high)
        if status == "P" and not passes:
            notes.append(f"the tester judged PASS; the reading is outside the {op} limits")
        elif status == "F" and passes:
            notes.append(f"the tester judged FAIL; the reading is inside the {op} limits")
        fields = {"reportText": "\n".join(notes)} if notes else {}
        sequence.add_numeric_step(
            name, value, low, high, comp=op, unit=unit, meas_status=status, **fields
        )
        return status == "F" if status else not passes

    def _limits(self, row: _Row, unit: str) -> tuple[CompOp, float | None, float | None]:
        code = row.function
        if code == "SH":
            return CompOp.LT, self.settings.short_limit_ohm, None
        if code == "OP":
            return CompOp.GT, self.settings.open_limit_ohm, None
        if code not in ("**", "D", "E", "F"):
            raise ConversionError(
                f"unknown function code {code!r} (known: ** SH OP D E F, JP/JUMP skipped)",
                line=row.line,
                field="Function",
            )
        if row.ref == NO_READING:
            raise ConversionError(
                f"function {code} needs a reference value", line=row.line, field="Ref. value"
            )
        ref, _ = _reading(row.ref, row.ref_unit, row.line, "Ref. value")
        if code == "E":
            return CompOp.LE, ref, None
        if code == "F":
            return CompOp.GE, ref, None
        plus = _tolerance(row.tol_plus, row.line, "Tolerance (+)")
        minus = _tolerance(row.tol_minus, row.line, "Tolerance (-)")
        # a negative reference (a negative voltage) keeps low below high
        bounds = sorted((round_noise(ref * (1 - minus)), round_noise(ref * (1 + plus))))
        return (CompOp.GELE if code == "**" else CompOp.LTGE), bounds[0], bounds[1]


@dataclass
class _Header:
    model: str = ""
    date: str = ""
    date_line: int | None = None
    station: str = ""
    operator: str = ""
    test_time: str = ""
    verdict: str = ""


@dataclass(frozen=True)
class _Row:
    line: int
    step_number: str
    part: str
    value: str
    nets: str
    judgement: str
    ref: str
    ref_unit: str
    test1: str
    test1_unit: str
    test2: str
    test2_unit: str
    tol_plus: str
    tol_minus: str
    function: str


@dataclass
class _Group:
    number: int
    line: int
    header: _Header
    verdict: str = ""
    serial: str = ""
    columns: dict[str, int] | None = None
    rows: list[_Row] = field(default_factory=list)


@dataclass
class _Panel:
    groups: list[_Group]
    complete: bool
    lines: int


@dataclass(frozen=True)
class _SerialTag:
    fixture: str = ""
    operator: str = ""


def looks_like_atd(head: str) -> bool:
    """Whether `head` (the first kilobytes of a file) is the start of a Takaya ATD file."""
    lines = [line.strip() for line in head.splitlines()[:12] if line.strip()]
    return (
        len(lines) >= 4
        and lines[0] == END_MARKER
        and _VERDICT.match(lines[1]) is not None
        and _COUNTERS.match(lines[2]) is not None
        and any(line.startswith("Model:") for line in lines[3:])
    )


def parse_atd(content: str) -> _Panel:
    """The groups of an ATD file, with the header each belongs to."""
    header = _Header()
    groups: list[_Group] = []
    group: _Group | None = None
    lines = content.splitlines()
    last = ""
    _check_start([line.strip() for line in lines[:1]])
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text:
            continue
        last = text
        if text == END_MARKER:
            group = None
            continue
        found = _GROUP.match(text)
        if found:
            group = _Group(int(found.group(1)), number, header)
            groups.append(group)
            continue
        if group is None:
            if groups and header is groups[-1].header:
                header = _Header(**vars(header))  # a second header block (APT94xx BOT / TOP)
            _header_line(header, text, number)
        else:
            _group_line(group, raw, text, number)
    if not groups:
        raise ConversionError(
            "not a Takaya ATD file: no '* GROUP No.n *' block", line=len(lines), field="GROUP"
        )
    for group in groups:
        _check_group(group)
    return _Panel(groups, last == END_MARKER, len(lines))


def _check_start(lines: list[str]) -> None:
    if not lines or lines[0] != END_MARKER:
        raise ConversionError(
            "not a Takaya ATD file: it does not start with an '@' line", line=1, field="header"
        )


def _header_line(header: _Header, text: str, number: int) -> None:
    verdict = _VERDICT.match(text)
    if verdict:
        header.verdict = verdict.group(1)
    elif text.startswith("Model:"):
        header.model = text.partition(":")[2].strip()
    elif text.startswith("DATE"):
        header.date, header.date_line = text[4:].strip(), number
    elif text.startswith("Test ID"):
        header.station = text.partition(":")[2].strip()
    elif text.startswith("User name"):
        header.operator = text.partition(":")[2].strip()
    elif text.startswith("Test time"):
        header.test_time = text.partition(":")[2].strip()
    elif not _COUNTERS.match(text):
        raise ConversionError(
            f"unexpected header line {text[:60]!r}: not a Takaya ATD file?", line=number
        )


def _group_line(group: _Group, raw: str, text: str, number: int) -> None:
    verdict = _VERDICT.match(text)
    if verdict and not group.verdict:
        group.verdict = verdict.group(1)
    elif text.startswith("Serial No.:"):
        group.serial = text.partition(":")[2].strip()
    elif _COUNTERS.match(text):
        pass
    elif text.startswith("Group_No.\t"):
        group.columns = _column_index(raw.split("\t"), number)
    elif "\t" in raw:
        group.rows.append(_tab_row(group, raw, number))
    elif text[:1].isdigit() and '"' in text:
        group.rows.append(_apt_row(text, number))
    else:
        raise ConversionError(f"unexpected line {text[:60]!r} in GROUP {group.number}", line=number)


def _check_group(group: _Group) -> None:
    if not group.verdict:
        raise ConversionError(
            f"GROUP {group.number} has no '* PASS *' / '* FAIL *' verdict",
            line=group.line,
            field="verdict",
        )
    if not group.serial:
        raise ConversionError(
            f"GROUP {group.number} has no serial number", line=group.line, field="Serial No."
        )
    if not group.header.date:
        raise ConversionError("the header has no DATE line", line=1, field="DATE")


def _column_index(names: list[str], number: int) -> dict[str, int]:
    index: dict[str, int] = {}
    for key, (name, occurrence) in _COLUMNS.items():
        positions = [i for i, n in enumerate(names) if n.strip() == name]
        if len(positions) < occurrence:
            raise ConversionError(
                f"the column header has no column {name!r} (occurrence {occurrence})",
                line=number,
                field=name,
            )
        index[key] = positions[occurrence - 1]
    return index


def _tab_row(group: _Group, raw: str, number: int) -> _Row:
    if group.columns is None:
        raise ConversionError(
            f"GROUP {group.number}: a row before the 'Group_No.' column header", line=number
        )
    cells = raw.split("\t")
    columns = group.columns
    if len(cells) <= max(columns.values()):
        raise ConversionError(
            f"row has {len(cells)} columns, the header {max(columns.values()) + 1} or more: "
            "the row is cut short",
            line=number,
        )

    def cell(key: str) -> str:
        return cells[columns[key]].strip()

    h_net, l_net = cell("h_net"), cell("l_net")
    nets = f"{h_net}-{l_net}" if "*" not in (h_net, l_net) else cell("comment")
    return _Row(
        line=number,
        step_number=cells[1].strip(),
        part=cell("part"),
        value=cell("value"),
        nets=nets,
        judgement=cell("judgement"),
        ref=cell("ref"),
        ref_unit=cell("ref_unit"),
        test1=cell("test1"),
        test1_unit=cell("test1_unit"),
        test2=cell("test2"),
        test2_unit=cell("test2_unit"),
        tol_plus=cell("tol_plus"),
        tol_minus=cell("tol_minus"),
        function=cell("function"),
    )


def _apt_row(text: str, number: int) -> _Row:
    tokens = [quoted if quoted or bare == "" else bare for quoted, bare in _APT_TOKEN.findall(text)]
    if len(tokens) != APT_FIELDS:
        raise ConversionError(
            f"APT94xx row has {len(tokens)} fields, expected {APT_FIELDS}", line=number
        )
    ref, ref_unit = _display_split(tokens[6])
    test1, test1_unit = _display_split(tokens[7])
    test2, test2_unit = _display_split(tokens[8])
    return _Row(
        line=number,
        step_number=tokens[0],
        part=tokens[1].strip(),
        value=tokens[2].strip(),
        nets=tokens[3].strip(),
        judgement=tokens[11].strip(),
        ref=ref,
        ref_unit=ref_unit,
        test1=test1,
        test1_unit=test1_unit,
        test2=test2,
        test2_unit=test2_unit,
        tol_plus=tokens[9],
        tol_minus=tokens[10],
        function=tokens[18].strip(),
    )


def _display_split(text: str) -> tuple[str, str]:
    """`" 4.21 KO "` -> ("4.21", "KO"); the no-reading dots stay as they are."""
    cleaned = text.strip()
    if cleaned == NO_READING or not cleaned:
        return NO_READING, ""
    number, _, unit = cleaned.partition(" ")
    return number, unit.strip()


def _reading(text: str, unit_text: str, line: int, what: str) -> tuple[float, str]:
    """A display value and its prefixed unit (`10.00`, `KO`) in base units: (10000.0, "Ω")."""
    if _DISPLAY.match(text) is None:
        raise ConversionError(f"{what} {text!r} is not a number", line=line, field=what)
    prefix, unit = _split_unit(unit_text, line)
    return parse_si(f"{text.strip()}{prefix}", m_means="mega", line=line, field=what), unit


def _unit_only(unit_text: str, line: int) -> str:
    return _split_unit(unit_text, line)[1] if unit_text else ""


def _split_unit(unit_text: str, line: int) -> tuple[str, str]:
    """`KO` -> ("k", "Ω"), `UF` -> ("u", "F"), `O` -> ("", "Ω"), `V` -> ("", "V")."""
    cleaned = unit_text.strip()
    if cleaned in _BASE_UNITS:
        return "", _BASE_UNITS[cleaned]
    if len(cleaned) >= 2 and cleaned[0] in _PREFIXES and cleaned[1:] in _BASE_UNITS:
        return _PREFIXES[cleaned[0]], _BASE_UNITS[cleaned[1:]]
    raise ConversionError(
        f"unknown unit {unit_text!r} (known: O F H V A with a prefix p n N u U m k K M G)",
        line=line,
        field="Unit",
    )


def _tolerance(text: str, line: int, what: str) -> float:
    found = _TOLERANCE.match(text.strip())
    if found is None:
        raise ConversionError(f"{what} {text!r} is not a percentage", line=line, field=what)
    return float(found.group(1)) / 100


def _step_name(row: _Row) -> str:
    pins = "" if row.value in ("P-Auto", "*", "") or _NOMINAL.match(row.value) else row.value
    name = " ".join(p for p in (row.part, pins) if p)
    if row.nets and row.nets != "*":
        name = f"{name} ({row.nets})"
    return name[:100]


def _split_serial(serial: str) -> tuple[str, _SerialTag]:
    """APT94xx `12345 - SN0001 (FP1 - OP01)`: serial `12345 - SN0001`, fixture FP1, operator
    OP01; `11111-BV0001 (AT33)`: serial and fixture AT33."""
    found = _SERIAL_TAG.match(serial)
    if found is None or not found.group("sn"):
        return serial[:100], _SerialTag()
    fixture, _, operator = (part.strip() for part in found.group("tag").partition(" - "))
    return found.group("sn")[:100], _SerialTag(fixture[:100], operator[:100])
