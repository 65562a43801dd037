"""TestStandXMLConverter: NI TestStand XML reports, with and without the WATS add-on.

Two shapes: `<TSReport>` (WATS add-on: `ReportInfo` rows with id, start with offset, serial,
part, revision and process code, then `Prop` trees) and `<Reports><Report Type='UUT'>` (plain
TestStand: `Prop` trees only; one report per UUT `Report`). The step tree is the `TEResult`
property tree. See docs/converters/teststand-xml.md for what is read from where.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from wats_converter.converters.api import ConversionContext, ConverterBase
from wats_converter.converters.builtin.teststand_xml_props import (
    NAME_MAX,
    additional_data,
    array_items,
    is_additional,
    kind_from_data,
    limits_for,
    meas_status,
    numeric_reading,
    prop,
    read_float,
    read_int,
    read_short,
    unique_name,
    value,
)
from wats_converter.converters.content import Recognition, XmlHead, recognize_xml
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import localize, zone
from wats_converter.converters.teststand import (
    WATS_STEP_TYPES,
    TestStandSettings,
    check_depth,
    keep_outcome,
    numeric_comparator,
    read_report,
    step_group,
    step_kind,
    step_status,
    string_comparator,
)
from wats_converter.converters.units import unit_symbol
from wats_converter.converters.xmldoc import children
from wats_converter.errors import ConversionError
from wats_converter.report import CompOp, Step, UUTReport
from wats_converter.report.parts import SeqCall


class TestStandXMLConverter(ConverterBase):
    """Reads TestStand XML reports (`.xml`); recognises them by root element, so it can share
    a folder with WSXF and ATML files."""

    __test__ = False  # not a pytest test class, whatever its name says
    name = "TestStandXMLConverter"
    cpu_heavy = True
    supported_extensions = (".xml",)
    Settings = TestStandSettings

    def recognizes(self, head: bytes, file_path: Path) -> Recognition:
        return recognize_xml(head, _is_teststand_xml)

    def convert_file(self, file_path: Path, context: ConversionContext) -> list[UUTReport]:
        root = read_report(file_path, self.settings)
        if root.tag == "TSReport":
            units = [root]
        elif root.tag == "Reports":
            units = [r for r in children(root, "Report") if r.get("Type", "UUT") == "UUT"]
            if not units:
                raise ConversionError("the file holds no <Report Type='UUT'>", field="Report")
        else:
            raise ConversionError(
                f"root element <{root.tag}> is not TestStand XML (<TSReport> or <Reports>)",
                field=root.tag,
            )
        return [_Unit(self, element, i).report() for i, element in enumerate(units)]


def _is_teststand_xml(root: XmlHead) -> Recognition:
    """`<TSReport>`, or `<Reports>` without a namespace (WSXF's `<Reports>` has one) whose
    children are `<Report>` elements."""
    if root.namespace == "" and root.name == "TSReport":
        return Recognition(True, "root element <TSReport> is TestStand XML (WATS add-on)")
    if root.namespace == "" and root.name == "Reports":
        if all(c == ("", "Report") for c in root.children):
            return Recognition(True, "root element <Reports> without namespace is TestStand XML")
        return Recognition(False, "root element <Reports> holds other elements than <Report>")
    return Recognition(
        False, f"root element {root.describe()} is not TestStand XML (<TSReport> or <Reports>)"
    )


class _Unit:
    """One UUT report (`<TSReport>` or `<Report Type='UUT'>`) becoming one report."""

    def __init__(self, converter: TestStandXMLConverter, element: ET.Element, index: int) -> None:
        self.converter = converter
        self.settings: TestStandSettings = converter.settings
        self.el = element
        self.index = index
        self.where = f"Report[{index}]"
        self.info = {r.get("key", ""): r.get("value", "") for r in children(element, "ReportInfo")}
        self.zero: float | None = None  # the root result's engine time: step starts follow it
        self.start: datetime | None = None

    def report(self) -> UUTReport:
        el, info, where = self.el, self.info, self.where
        uut = prop(el, "UUT")
        sn = info.get("SN") or value(uut, "SerialNumber")
        if not sn:
            raise ConversionError(f"{where}: no UUT serial number", field="UUT.SerialNumber")
        pn = (
            info.get("PN")
            or value(uut, "PartNumber")
            or value(uut, "UUTPartNumber")
            or self.settings.part_number
        )
        if not pn:
            raise ConversionError(
                f"{where}: the report names no part number; set the converter's `part_number`",
                field="UUT.PartNumber",
            )
        rev = info.get("Rev") or value(uut, "UUTPartRevisionNumber") or self.settings.revision
        report = UUTReport(pn=pn[:NAME_MAX], sn=sn[:NAME_MAX], rev=rev[:NAME_MAX])
        report.start = self._start(report)
        self.start = report.start
        report.processCode = self._process_code(uut)
        report.id = self._id(sn, report)
        self._header(report, uut)
        top = next((p for p in el if p.tag == "Prop" and p.get("Type") == "TEResult"), None)
        if top is None:
            raise ConversionError(f"{where}: no TEResult (the step results)", field="TEResult")
        self.zero = read_float(value(top, "TS", "StartTime"))
        total = read_float(value(top, "TS", "TotalTime"))
        if total is not None:
            report.uut.execTime = total
        call = prop(top, "TS", "SequenceCall")
        report.root.seqCall = SeqCall(
            path=(value(call, "SequenceFile") or "")[:500] or None,
            name=(value(call, "Sequence") or "MainSequence")[:200],
            version=(value(call, "SequenceFileVersion") or self.settings.sequence_version)[:30]
            or None,
        )
        for item in array_items(prop(call, "ResultList")):
            self._step(report.root, item)
        verdict = el.get("UUTResult") or value(top, "Status") or value(call, "Status")
        status = step_status(verdict)
        report.root.status = status
        keep_outcome(report, status)
        return report

    def _start(self, report: UUTReport) -> datetime:
        where = self.where
        stamp = self.info.get("Start")
        if stamp:
            try:
                start = datetime.fromisoformat(stamp.strip())
            except ValueError:
                raise ConversionError(
                    f"{where}: ReportInfo Start {stamp!r} is not an ISO time", field="Start"
                ) from None
            return localize(start, zone(self.settings.timezone)).note_on(report)
        date, clock = prop(self.el, "StartDate"), prop(self.el, "StartTime")
        parts = [
            value(date, "Year"),
            value(date, "Month"),
            value(date, "MonthDay"),
            value(clock, "Hours"),
            value(clock, "Minutes"),
            value(clock, "Seconds"),
        ]
        if any(p is None for p in parts):
            raise ConversionError(
                f"{where}: no start time (ReportInfo Start, or StartDate and StartTime)",
                field="StartDate",
            )
        try:
            year, month, day, hour, minute, second = (int(float(p or "")) for p in parts)
            millis = int(float(value(clock, "Milliseconds") or 0))
            naive = datetime(year, month, day, hour, minute, second, millis * 1000)
        except ValueError as exc:
            raise ConversionError(
                f"{where}: bad start date/time: {exc}", field="StartDate"
            ) from None
        return localize(naive, zone(self.settings.timezone)).note_on(report)

    def _process_code(self, uut: ET.Element | None) -> int:
        for raw in (self.info.get("PCode"), value(uut, "UUTOperationType")):
            number = read_float(raw)
            if number is not None and 0 < number <= 32767 and number == int(number):
                return int(number)
        code: int = self.settings.process_code
        return code

    def _id(self, sn: str, report: UUTReport) -> uuid.UUID:
        raw = self.info.get("ID")
        if raw:
            try:
                return uuid.UUID(raw.strip())
            except ValueError:
                raise ConversionError(
                    f"{self.where}: ReportInfo ID {raw!r} is not a UUID", field="ID"
                ) from None
        assert report.start is not None
        return unit_id(self.converter.display_name, sn, report.start.isoformat(), self.index)

    def _header(self, report: UUTReport, uut: ET.Element | None) -> None:
        station = prop(self.el, "StationInfo")
        report.machineName = read_short(value(station, "StationID"))
        report.location = read_short(value(station, "Location"))
        report.purpose = read_short(value(station, "Purpose"))
        info = report.uut
        info.user = read_short(value(station, "LoginName"))
        info.batchSN = read_short(value(uut, "BatchSerialNumber"))
        info.fixtureId = read_short(value(uut, "UUT_Fixture_ID"))
        comment = value(uut, "Comment")
        info.comment = comment[:500] if comment else None
        socket = read_int(value(uut, "TestSocketIndex"))
        info.testSocketIndex = socket if socket is not None and socket >= 0 else None
        if info.batchSN:  # the batch counters mean something only in a batch
            info.batchLoopIndex = read_int(value(uut, "BatchLoopIndex"))
            info.batchFailCount = read_int(value(uut, "BatchFailCount"))
        misc = prop(uut, "MiscUUTResult")
        for item in array_items(prop(misc, "Misc_UUT_Info")):
            description = value(item, "Description") or value(item, "Name")
            if description:
                data = value(item, "Data_String") or value(item, "Data") or value(item, "String")
                number = read_int(value(item, "Data_Numeric") or value(item, "Numeric"))
                mi = report.add_misc_info(description[:NAME_MAX], (data or "")[:NAME_MAX])
                mi.numeric = number
        for item in array_items(prop(misc, "UUT_Part_Info")):
            sub_sn = value(item, "PartSerialNumber") or value(item, "SerialNumber")
            sub_pn = value(item, "PartNumber")
            if sub_sn or sub_pn:
                report.add_sub_unit(
                    (value(item, "PartType") or "")[:50],
                    (sub_pn or "")[:NAME_MAX],
                    (sub_sn or "")[:NAME_MAX],
                    (value(item, "PartRevisionNumber") or value(item, "Revision") or "")[:NAME_MAX],
                )

    def _step(self, parent: Step, te: ET.Element, depth: int = 1) -> None:
        ts = prop(te, "TS")
        step_type = value(ts, "StepType")
        name = (value(ts, "StepName") or step_type or "Step")[:NAME_MAX]
        status = step_status(value(te, "Status"))
        common = self._common(te, ts)
        call = prop(ts, "SequenceCall")
        kind = step_kind(step_type)
        if call is not None or kind == "sequence":
            check_depth(depth, f"{self.where} step {name!r}")
            sequence = parent.add_sequence(
                name,
                path=(value(call, "SequenceFile") or "")[:500] or None,
                version=(value(call, "SequenceFileVersion") or "")[:30] or None,
                status=status,
                **common,
            )
            assert sequence.seqCall is not None
            sequence.seqCall.name = (value(call, "Sequence") or name)[:200]
            for item in array_items(prop(call, "ResultList")):
                self._step(sequence, item, depth + 1)
            return
        kind = kind_from_data(te) or kind or "action"
        where = f"{self.where} step {name!r}"
        if kind == "action":
            step = parent.add_action_step(name, status=status, **common)
            step.stepType = step_type or "Action"
        elif kind == "numeric":
            low, high = (
                read_float(value(te, "Limits", "Low")),
                read_float(value(te, "Limits", "High")),
            )
            op = numeric_comparator(value(te, "Comp"), field=f"{where} Comp")
            reading = numeric_reading(value(te, "Numeric"), where)
            step = parent.add_numeric_step(
                name,
                reading,
                *limits_for(op, low, high),
                comp=op,
                unit=unit_symbol(value(te, "Units")),
                meas_status=meas_status(status),
                status=status,
                **common,
            )
        elif kind == "multi_numeric":
            step = parent.add_step(name, status=status, **common)
            for i, m in enumerate(array_items(prop(te, "Measurement"))):
                op = numeric_comparator(value(m, "Comp"), field=f"{where} Comp")
                low, high = (
                    read_float(value(m, "Limits", "Low")),
                    read_float(value(m, "Limits", "High")),
                )
                step.add_numeric_measurement(
                    unique_name(m.get("Name") or value(m, "Name") or f"Measurement {i}", step),
                    numeric_reading(value(m, "Data") or value(m, "Numeric"), where),
                    *limits_for(op, low, high),
                    comp=op,
                    unit=unit_symbol(value(m, "Units")),
                    meas_status=meas_status(step_status(value(m, "Status"))),
                )
        elif kind == "pass_fail":
            passed = value(te, "PassFail")
            if passed is None and status not in ("P", "F"):
                step = parent.add_action_step(name, status=status, **common)
                step.stepType = WATS_STEP_TYPES["pass_fail"]
            else:
                ok = passed.lower() == "true" if passed is not None else status == "P"
                step = parent.add_pass_fail_step(name, ok, status=status, **common)
        else:  # string
            op = string_comparator(value(te, "Comp"), field=f"{where} Comp")
            limit = None if op is CompOp.LOG else (value(te, "Limits", "String") or "")
            step = parent.add_string_step(
                name,
                value(te, "String") or "",
                limit,
                comp=op,
                meas_status=meas_status(status),
                status=status,
                **common,
            )
        extra = [additional_data(p) for p in te if p.tag == "Prop" and is_additional(p)]
        if extra:
            step.additionalResults = extra

    def _common(self, te: ET.Element, ts: ET.Element | None) -> dict[str, Any]:
        fields: dict[str, Any] = {"group": step_group(value(ts, "StepGroup"))}
        total = read_float(value(ts, "TotalTime"))
        if total is not None:
            fields["totTime"] = total
        started = read_float(value(ts, "StartTime"))
        if started is not None and self.zero is not None and self.start is not None:
            fields["start"] = self.start + timedelta(seconds=started - self.zero)
        guid = value(ts, "StepId")
        if guid:
            fields["tsGuid"] = guid
        report_text = value(te, "ReportText")
        if report_text:
            fields["reportText"] = report_text
        error = prop(te, "Error")
        if (value(error, "Occurred") or "").lower() == "true":
            code = read_int(value(error, "Code"))
            if code is not None:
                fields["errorCode"] = code
            message = value(error, "Msg")
            if message:
                fields["errorMessage"] = message[:200]
        if (value(te, "StepCausedSequenceFailure") or "").lower() == "true":
            fields["causedSeqFailure"] = True
        return fields
