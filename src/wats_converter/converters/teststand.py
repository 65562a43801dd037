"""What NI TestStand means by its words, shared by the ATML and TestStand XML converters.

TestStand writes the same vocabulary into every report format: result status words (`Passed`,
`Done`, `Skipped`, ...), step groups (`Setup`/`Main`/`Cleanup`), step type names
(`NumericLimitTest`, the WATS add-on's `ET_NLT`, ...) and comparison operators (ATML spells a
two-limit test as a pair of one-sided comparators). This module turns them into WSJF codes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Literal

from pydantic import Field

from wats_converter.converters.api import ConverterSettings, RetryLater
from wats_converter.converters.tester import keep_verdict
from wats_converter.converters.text import read_limited
from wats_converter.converters.xmldoc import UnfinishedXML, parse_xml
from wats_converter.errors import ConversionError
from wats_converter.report import CompOp, UUTReport
from wats_converter.report.parts import ReportResult, StepGroup, StepStatus

StepKind = Literal[
    "sequence", "numeric", "multi_numeric", "pass_fail", "multi_pass_fail", "string",
    "multi_string", "action",
]  # fmt: skip


class TestStandSettings(ConverterSettings):
    """What a TestStand report may lack, for both report formats. The file's own value wins.

    Attributes:
        part_number: the part number for reports that name none.
        revision: the part revision for reports that name none.
        sequence_version: the root sequence's version for reports that name none.
        timezone: IANA zone of the station's clock, for times written without an offset
            (empty: the station's own zone).
    """

    __test__ = False  # not a pytest test class, whatever its name says

    part_number: str = Field(default="", max_length=100)
    revision: str = Field(default="", max_length=100)
    sequence_version: str = Field(default="", max_length=30)
    timezone: str = ""


UNFINISHED_RETRY_S = 10.0  # a report still being written is looked at again this much later


def read_report(file_path: Path, settings: TestStandSettings) -> ET.Element:
    """The root element of the TestStand XML or ATML report at `file_path` (at most
    `max_file_size_bytes`); `RetryLater` when it stops before its root element is closed:
    TestStand's on-the-fly reporting is still appending to it."""
    raw = read_limited(file_path, settings.max_file_size_bytes)
    try:
        return parse_xml(raw, settings.encoding, settings.fallback_encoding)
    except UnfinishedXML as exc:
        raise RetryLater(f"end marker not written yet: {exc}", after_s=UNFINISHED_RETRY_S) from None


STATUSES: dict[str, StepStatus] = {
    "passed": "P",
    "failed": "F",
    "done": "D",
    "skipped": "S",
    "notstarted": "S",  # ATML 5/6: a step that never ran (TestStand's Skipped)
    "error": "E",
    "errored": "E",
    "terminated": "T",
    "aborted": "T",
}
RESULTS: dict[str, ReportResult] = {"P": "P", "F": "F", "E": "E", "T": "T", "D": "P", "S": "P"}
GROUPS: dict[str, StepGroup] = {"setup": "S", "main": "M", "cleanup": "C"}
STEP_KINDS: dict[str, StepKind] = {
    "sequencecall": "sequence",
    "numericlimittest": "numeric",
    "et_nlt": "numeric",
    "multinumericlimittest": "multi_numeric",
    "et_mnlt": "multi_numeric",
    "passfailtest": "pass_fail",
    "et_pft": "pass_fail",
    "et_mpft": "multi_pass_fail",
    "stringvaluetest": "string",
    "et_svt": "string",
    "et_msvt": "multi_string",
}
# the WATS step type (the UI icon) of each kind, for steps that carry no measurement
WATS_STEP_TYPES: dict[StepKind, str] = {
    "sequence": "SequenceCall",
    "numeric": "ET_NLT",
    "multi_numeric": "ET_MNLT",
    "pass_fail": "ET_PFT",
    "multi_pass_fail": "ET_MPFT",
    "string": "ET_SVT",
    "multi_string": "ET_MSVT",
    "action": "Action",
}
SINGLE_COMPARATORS = {
    "EQ": CompOp.EQ,
    "NE": CompOp.NE,
    "GT": CompOp.GT,
    "GE": CompOp.GE,
    "LT": CompOp.LT,
    "LE": CompOp.LE,
    "LOG": CompOp.LOG,
}
# (logic, first comparator, second comparator) -> the WSJF two-limit operator, first limit low
LIMIT_PAIRS = {
    ("AND", "GE", "LE"): CompOp.GELE,
    ("AND", "GT", "LT"): CompOp.GTLT,
    ("AND", "GE", "LT"): CompOp.GELT,
    ("AND", "GT", "LE"): CompOp.GTLE,
    ("OR", "LT", "GT"): CompOp.LTGT,
    ("OR", "LE", "GE"): CompOp.LEGE,
    ("OR", "LE", "GT"): CompOp.LEGT,
    ("OR", "LT", "GE"): CompOp.LTGE,
}
STRING_COMPARATORS = {
    "EQ": CompOp.CASESENSIT,
    "CASESENSITIVE": CompOp.CASESENSIT,
    "CASESENSIT": CompOp.CASESENSIT,
    "CIEQ": CompOp.IGNORECASE,
    "IGNORECASE": CompOp.IGNORECASE,
    "NE": CompOp.NE,
    "LOG": CompOp.LOG,
}
# deeper nesting is no real sequence but a hostile file (and would exhaust Python's stack)
MAX_SEQUENCE_DEPTH = 100


def check_depth(depth: int, where: str) -> None:
    """Refuse sequence calls nested deeper than `MAX_SEQUENCE_DEPTH` with a clear error."""
    if depth > MAX_SEQUENCE_DEPTH:
        raise ConversionError(
            f"{where}: sequence calls nested deeper than {MAX_SEQUENCE_DEPTH} levels",
            field="SequenceCall",
        )


def step_status(word: str | None, qualifier: str | None = None) -> StepStatus:
    """The WSJF status of a TestStand status word (`Passed`, `Done`, `Skipped`, `Error`, ...).

    ATML writes some as an outcome with a qualifier (`Aborted` + `Skipped`, `UserDefined` +
    `Terminated`): a known qualifier wins. An unknown word is `U` (unknown), never a guess.
    """
    for text in (qualifier, word):
        if text:
            status = STATUSES.get(text.strip().lower())
            if status is not None:
                return status
    return "U"


def unit_result(status: StepStatus) -> ReportResult | None:
    """The report result for a unit whose sequence ended with `status` (Done counts as Passed;
    unknown is `None`: computed from the steps)."""
    return RESULTS.get(status)


def step_group(word: str | None) -> StepGroup:
    """`Setup`/`Main`/`Cleanup` as S/M/C (missing or unknown: Main)."""
    return GROUPS.get((word or "").strip().lower(), "M")


def step_kind(step_type: str | None) -> StepKind | None:
    """The WSJF step kind a TestStand step type stands for, or `None` for a type it does not
    know (custom types: the caller decides from the data the step carries)."""
    return STEP_KINDS.get((step_type or "").strip().lower())


def single_comparator(word: str, *, field: str) -> CompOp:
    """A one-sided comparator (`GE`, `LT`, ..., `LOG`) as the WSJF operator."""
    op = SINGLE_COMPARATORS.get(word.strip().upper())
    if op is None:
        raise ConversionError(
            f"comparator {word!r} is not one of {', '.join(SINGLE_COMPARATORS)}", field=field
        )
    return op


def limit_pair(logic: str, first: str, second: str, *, field: str) -> tuple[CompOp, bool]:
    """The two-limit operator of a comparator pair, and whether the limits are in the other
    order (the second limit is the low one). `AND` pairs keep a value inside (GE+LE = GELE,
    GT+LT = GTLT, ...), `OR` pairs outside (LT+GT = LTGT, ...)."""
    key = (logic.strip().upper() or "AND", first.strip().upper(), second.strip().upper())
    op = LIMIT_PAIRS.get(key)
    if op is not None:
        return op, False
    op = LIMIT_PAIRS.get((key[0], key[2], key[1]))
    if op is not None:
        return op, True
    raise ConversionError(
        f"limit pair {key[1]} {key[0]} {key[2]} is not a TestStand limit form", field=field
    )


def numeric_comparator(word: str | None, *, field: str) -> CompOp:
    """TestStand's numeric `Comp` (`GELE`, `GTLT`, `EQ`, `LOG`, ...) as the WSJF operator."""
    try:
        op = CompOp((word or "LOG").strip().upper())
    except ValueError:
        raise ConversionError(f"{word!r} is not a numeric comparison", field=field) from None
    if op in (CompOp.CASESENSIT, CompOp.IGNORECASE):
        raise ConversionError(f"{word!r} is not a numeric comparison", field=field)
    return op


def string_comparator(word: str | None, *, field: str) -> CompOp:
    """A string comparison (`CIEQ`/`IgnoreCase` -> IGNORECASE, `EQ`/`CaseSensitive` ->
    CASESENSIT, `NE`, `LOG`) as the WSJF operator."""
    op = STRING_COMPARATORS.get((word or "LOG").strip().upper())
    if op is None:
        raise ConversionError(f"{word!r} is not a string comparison", field=field)
    return op


def keep_outcome(report: UUTReport, status: StepStatus) -> None:
    """Set the report's result from the outcome TestStand gave the unit (`keep_verdict`: the
    tester's verdict is kept, a disagreement with the steps noted); an unknown outcome leaves
    the result to be computed from the steps, and says so."""
    result = unit_result(status)
    if result is None:
        report.result = None  # computed from the steps when the report is finalized
        report.add_conversion_note(
            f"the tester's verdict {status!r} is unknown; result computed from the steps"
        )
        return
    keep_verdict(report, result)
