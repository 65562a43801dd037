"""A Takaya flying-probe ATD file read into its panel: groups (one a board), their header and
their rows, in the tab-separated or the APT94xx layout. The format only; takaya.py makes the
reports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wats_converter.converters.units import OHM, parse_si
from wats_converter.errors import ConversionError

END_MARKER = "@"
NO_READING = "........"
_GROUP = re.compile(r"^\*\s*GROUP\s+No\.\s*(\d+)\s*\*$")
_VERDICT = re.compile(r"^\*\s*(PASS|FAIL)\s*\*$")
_COUNTERS = re.compile(r"^D\.T:")
_APT_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_DISPLAY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([^\s\d.+-]*)\s*$")
_TOLERANCE = re.compile(r"^[+-]?(\d+(?:\.\d+)?)\s*%$")
_NOMINAL = re.compile(r"^[\d.]+\s*[A-Za-zµ]*$")
_SERIAL_TAG = re.compile(r"^(?P<sn>.*?)\s*\((?P<tag>[^()]*)\)\s*$")
_BASE_UNITS = {"O": OHM, OHM: OHM, "F": "F", "H": "H", "V": "V", "A": "A"}
# Takaya writes micro and nano in capitals (`UF`, `UH`, `NF`); `M` is mega (`MO` megohm)
_PREFIXES = {"p": "p", "n": "n", "N": "n", "u": "u", "U": "u", "µ": "u", "m": "m", "k": "k"}
_PREFIXES |= {"K": "k", "M": "M", "G": "G"}
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


@dataclass
class Header:
    """The header lines of a group: model, date, station, operator, test time, verdict."""

    model: str = ""
    date: str = ""
    date_line: int | None = None
    station: str = ""
    operator: str = ""
    test_time: str = ""
    verdict: str = ""


@dataclass(frozen=True)
class Row:
    """One measurement row, its columns as text (either layout), with its line."""

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
class Group:
    """One board of the panel: its header, verdict, serial and rows."""

    number: int
    line: int
    header: Header
    verdict: str = ""
    serial: str = ""
    columns: dict[str, int] | None = None
    rows: list[Row] = field(default_factory=list)


@dataclass
class Panel:
    """The groups of a file, whether it is complete (ends with `@`), its line count."""

    groups: list[Group]
    complete: bool
    lines: int


@dataclass(frozen=True)
class SerialTag:
    """What a serial's `(...)` tag names: the fixture and the operator."""

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


def parse_atd(content: str) -> Panel:
    """The groups of an ATD file, with the header each belongs to."""
    header = Header()
    groups: list[Group] = []
    group: Group | None = None
    lines = content.splitlines()
    last = ""
    check_start([line.strip() for line in lines[:1]])
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
            group = Group(int(found.group(1)), number, header)
            groups.append(group)
            continue
        if group is None:
            if groups and header is groups[-1].header:
                header = Header(**vars(header))  # a second header block (APT94xx BOT / TOP)
            _header_line(header, text, number)
        else:
            _group_line(group, raw, text, number)
    if not groups:
        raise ConversionError(
            "not a Takaya ATD file: no '* GROUP No.n *' block", line=len(lines), field="GROUP"
        )
    for group in groups:
        _check_group(group)
    return Panel(groups, last == END_MARKER, len(lines))


def check_start(lines: list[str]) -> None:
    if not lines or lines[0] != END_MARKER:
        raise ConversionError(
            "not a Takaya ATD file: it does not start with an '@' line", line=1, field="header"
        )


def _header_line(header: Header, text: str, number: int) -> None:
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


def _group_line(group: Group, raw: str, text: str, number: int) -> None:
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


def _check_group(group: Group) -> None:
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


def _tab_row(group: Group, raw: str, number: int) -> Row:
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
    return Row(
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


def _apt_row(text: str, number: int) -> Row:
    tokens = [quoted if quoted or bare == "" else bare for quoted, bare in _APT_TOKEN.findall(text)]
    if len(tokens) != APT_FIELDS:
        raise ConversionError(
            f"APT94xx row has {len(tokens)} fields, expected {APT_FIELDS}", line=number
        )
    ref, ref_unit = _display_split(tokens[6])
    test1, test1_unit = _display_split(tokens[7])
    test2, test2_unit = _display_split(tokens[8])
    return Row(
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


def reading_with_unit(text: str, unit_text: str, line: int, what: str) -> tuple[float, str]:
    """A display value and its prefixed unit (`10.00`, `KO`) in base units: (10000.0, "Ω")."""
    if _DISPLAY.match(text) is None:
        raise ConversionError(f"{what} {text!r} is not a number", line=line, field=what)
    prefix, unit = _split_unit(unit_text, line)
    return parse_si(f"{text.strip()}{prefix}", m_means="mega", line=line, field=what), unit


def unit_only(unit_text: str, line: int) -> str:
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


def tolerance_fraction(text: str, line: int, what: str) -> float:
    found = _TOLERANCE.match(text.strip())
    if found is None:
        raise ConversionError(f"{what} {text!r} is not a percentage", line=line, field=what)
    return float(found.group(1)) / 100


def step_name(row: Row) -> str:
    pins = "" if row.value in ("P-Auto", "*", "") or _NOMINAL.match(row.value) else row.value
    name = " ".join(p for p in (row.part, pins) if p)
    if row.nets and row.nets != "*":
        name = f"{name} ({row.nets})"
    return name[:100]


def split_serial(serial: str) -> tuple[str, SerialTag]:
    """APT94xx `12345 - SN0001 (FP1 - OP01)`: serial `12345 - SN0001`, fixture FP1, operator
    OP01; `11111-BV0001 (AT33)`: serial and fixture AT33."""
    found = _SERIAL_TAG.match(serial)
    if found is None or not found.group("sn"):
        return serial[:100], SerialTag()
    fixture, _, operator = (part.strip() for part in found.group("tag").partition(" - "))
    return found.group("sn")[:100], SerialTag(fixture[:100], operator[:100])
