"""XJTAGConverter: XJTAG boundary-scan logs (`.xjlog`), a ZIP of XML files.

The archive holds `Info.xml` (`LogFileInfo`: project path and `TestRunCount`) and one
`Run N.xml` per run of the test sequence; each run is one board: one report. A run is a
`<testrun datetime="...Z">` (ISO-8601 UTC) with `<testgroup name>` blocks (a sequence each)
of `<testfunction name>` entries (a pass/fail step each, verdict in `<result value>`, messages
in `<text-output>`), and a `<testruninfo>` with `serial`, `user`, `xjlink-name`,
`project-description` and the run's `result`.

The archive is hostile input: it is read with `read_members` (bounded entry count, sizes and
compression ratio; no absolute or `..` names; nothing written to disk) and every XML member is
parsed with defusedxml (no DTDs, entities or external references). See docs/converters/xjtag.md.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path, PureWindowsPath

from pydantic import Field

from wats_converter.converters.api import ConversionContext, ConverterBase, ConverterSettings
from wats_converter.converters.archive import ArchiveLimits, read_members
from wats_converter.converters.ids import unit_id
from wats_converter.converters.tester import keep_verdict
from wats_converter.converters.xmldoc import parse_document
from wats_converter.errors import ConversionError
from wats_converter.report import Step, UUTReport
from wats_converter.report.parts import ReportResult, StepStatus

INFO = "Info.xml"
MAX_REPORT_TEXT = 8000
_RUN = re.compile(r"^Run (\d+)\.xml$")
# the summary's total: `14.806`, `45,583` (a decimal comma locale) or `1:40.307` (m:ss)
_TOTAL_TIME = re.compile(r'class="totaltime">\s*((?:\d+:){0,2}\d+(?:[.,]\d+)?)\s*<')
# XJTAG writes .NET enum names; anything else is refused rather than guessed
_STATUSES: dict[str, StepStatus] = {
    "passed": "P",
    "failed": "F",
    "skipped": "S",
    "notrun": "S",
    "error": "E",
    "terminated": "T",
    "aborted": "T",
    "cancelled": "T",
    "stopped": "T",
}
_TEXT_TYPES_SHOWN = {"Error": "Error: ", "Warning": "Warning: "}


class XJTAGConverter(ConverterBase):
    """XJTAG `.xjlog` archives: one report per `Run N.xml`."""

    name = "XJTAGConverter"
    cpu_heavy = True
    supported_extensions = (".xjlog",)

    class Settings(ConverterSettings):
        """Settings of `XJTAGConverter` (see docs/converters/xjtag.md).

        Attributes:
            part_number: the reports' part number; empty = the XJTAG project's file name.
            revision: the reports' revision.
            sequence_version: the root sequence's version.
            max_entries: the most entries an archive may have.
            max_member_bytes: the most bytes one member may inflate to.
            max_total_bytes: the most bytes all members read may inflate to together.
            max_ratio: the most a member may inflate relative to its compressed size.
        """

        part_number: str = ""
        revision: str = ""
        sequence_version: str = ""
        max_entries: int = Field(default=1000, gt=0)
        max_member_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
        max_total_bytes: int = Field(default=128 * 1024 * 1024, gt=0)
        max_ratio: float = Field(default=200.0, gt=1)

    def convert_file(self, file_path: Path, context: ConversionContext) -> list[UUTReport]:
        limits = ArchiveLimits(
            max_archive_bytes=self.settings.max_file_size_bytes,
            max_entries=self.settings.max_entries,
            max_member_bytes=self.settings.max_member_bytes,
            max_total_bytes=self.settings.max_total_bytes,
            max_ratio=self.settings.max_ratio,
        )
        members = read_members(
            file_path, limits, wanted=lambda name: name == INFO or bool(_RUN.match(name))
        )
        if INFO not in members:
            raise ConversionError("the archive has no Info.xml: not an XJTAG log", field=INFO)
        info = parse_document(members[INFO], INFO)
        project = _text(info, "ProjectPath")
        runs = sorted(
            (int(found.group(1)), name)
            for name in members
            if (found := _RUN.match(name)) is not None
        )
        declared = _text(info, "TestRunCount")
        if not runs:
            raise ConversionError("the archive has no 'Run N.xml'", field="Run")
        if declared and declared.isdigit() and int(declared) != len(runs):
            raise ConversionError(
                f"Info.xml says {declared} runs, the archive holds {len(runs)}",
                field="TestRunCount",
            )
        return [
            self._report(parse_document(members[name], name), name, number, project)
            for number, name in runs
        ]

    def _report(self, run: ET.Element, member: str, number: int, project: str) -> UUTReport:
        if run.tag != "testrun":
            raise ConversionError(f"{member}: root element is <{run.tag}>, not <testrun>")
        stamp = run.get("datetime") or ""
        start = _utc(stamp, member)
        info = run.find("testruninfo")
        if info is None:
            raise ConversionError(f"{member}: no <testruninfo>", field="testruninfo")
        sn = _text(info, "serial")
        if not sn:
            raise ConversionError(f"{member}: <testruninfo> has no serial", field="serial")
        pn = self.settings.part_number or PureWindowsPath(project).stem or "XJTAG"
        report = UUTReport(pn=pn[:100], sn=sn[:100], rev=self.settings.revision, start=start)
        carried = run.get("id") or run.get("guid")
        report.id = (
            _file_id(carried, member) if carried else unit_id(self.display_name, sn, stamp, number)
        )
        report.uut.user = _text(info, "user")[:100] or None
        report.machineName = _text(info, "xjlink-name")[:100] or None
        report.uut.comment = _text(info, "project-description")[:500] or None
        report.uut.execTime = _exec_time(run, member)
        link = _text(info, "xjlink-serial")
        if link:
            report.add_misc_info("XJLink serial", link[:100])
        assert report.root.seqCall is not None
        if project:
            report.root.seqCall.name = PureWindowsPath(project).name[:100] or None
            report.root.seqCall.path = project
        report.root.seqCall.version = self.settings.sequence_version or None
        run_text = _output(run)
        if run_text:
            report.root.reportText = run_text
        for group in run.findall("testgroup"):
            sequence = report.root.add_sequence(_name(group, member, "testgroup"))
            for function in group.findall("testfunction"):
                _function_step(sequence, function, member)
        verdict = _status(_text(info, "result"), member, "testruninfo/result")
        keep_verdict(report, _result(verdict, member))
        return report


def _text(parent: ET.Element, tag: str) -> str:
    found = parent.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _name(element: ET.Element, member: str, what: str) -> str:
    name = (element.get("name") or "").strip()
    if not name:
        raise ConversionError(f"{member}: a <{what}> without a name", field=f"{what}@name")
    return name[:100]


def _utc(stamp: str, member: str) -> datetime:
    try:
        start = datetime.fromisoformat(stamp)
    except ValueError:
        raise ConversionError(
            f"{member}: testrun datetime {stamp!r} is not an ISO-8601 time",
            field="testrun@datetime",
        ) from None
    # XJTAG writes UTC with a Z; a time without an offset is UTC too
    return start.replace(tzinfo=UTC) if start.tzinfo is None else start


def _file_id(text: str, member: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ConversionError(f"{member}: run id {text!r} is not a UUID", field="id") from None


def _exec_time(run: ET.Element, member: str) -> float | None:
    """Seconds: `<time-taken>` (ms) when written, else the summary table's total time (s)."""
    info = run.find("testruninfo")
    taken = _text(info, "time-taken") if info is not None else ""
    taken = taken or _text(run, "time-taken")
    if taken:
        try:
            return float(taken) / 1000
        except ValueError:
            raise ConversionError(
                f"{member}: time-taken {taken!r} is not a number of milliseconds",
                field="time-taken",
            ) from None
    summary = run.find("summary")
    for html in summary.iter("html-output") if summary is not None else ():
        found = _TOTAL_TIME.search(html.text or "")
        if found:
            seconds = 0.0
            for part in found.group(1).replace(",", ".").split(":"):
                seconds = seconds * 60 + float(part)
            return round(seconds, 3)
    return None


def _output(element: ET.Element) -> str:
    """The element's own `<text-output>` messages as report text (Error/Warning marked)."""
    parts = []
    for output in element.findall("text-output"):
        text = (output.text or "").strip()
        if text:
            parts.append(_TEXT_TYPES_SHOWN.get(output.get("output-type") or "", "") + text)
    joined = "\n".join(parts)
    if len(joined) > MAX_REPORT_TEXT:
        joined = joined[: MAX_REPORT_TEXT - 20] + "\n... (cut short)"
    return joined


def _function_step(sequence: Step, function: ET.Element, member: str) -> None:
    name = _name(function, member, "testfunction")
    result = function.find("result")
    value = result.get("value", "") if result is not None else ""
    status = _status(value, member, f"testfunction {name!r} result")
    text = _output(function)
    fields = {"reportText": text} if text else {}
    if status in ("P", "F"):
        sequence.add_pass_fail_step(name, status == "P", **fields)
    else:
        sequence.add_action_step(name, status=status, **fields)


def _status(value: str, member: str, where: str) -> StepStatus:
    status = _STATUSES.get(value.strip().lower())
    if status is None:
        known = ", ".join(sorted({k.capitalize() for k in _STATUSES}))
        raise ConversionError(
            f"{member}: {where} is {value!r}, expected one of {known}", field=where
        )
    return status


def _result(status: StepStatus, member: str) -> ReportResult:
    if status == "S":
        raise ConversionError(
            f"{member}: the run's result is Skipped: not a test result", field="result"
        )
    return "P" if status == "P" else "F" if status == "F" else "E" if status == "E" else "T"
