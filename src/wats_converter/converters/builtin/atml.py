"""ATMLConverter: NI TestStand ATML reports (IEEE 1636.1), generations 2.02, 5.00 and 6.01.

One report per `TestResults` element (a batch report holds several). Elements are matched by
local name, so every namespace generation reads alike. See docs/converters/atml.md for what is
read from where.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from wats_converter.converters.api import ConversionContext, ConverterBase
from wats_converter.converters.builtin.atml_data import (
    NAME_MAX,
    additional_prop,
    attr_number,
    caller_name,
    datum_value,
    kind_from_data,
    meas_name,
    meas_status,
    numeric_datum,
    numeric_limits,
    read_time,
    split_sequence,
    step_data,
    step_elements,
    string_parts,
)
from wats_converter.converters.content import Recognition, XmlHead, recognize_xml
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import elapsed_s, localize, zone
from wats_converter.converters.teststand import (
    WATS_STEP_TYPES,
    TestStandSettings,
    check_depth,
    keep_outcome,
    read_report,
    step_group,
    step_kind,
    step_status,
)
from wats_converter.converters.xmldoc import child, children, local, text
from wats_converter.errors import ConversionError
from wats_converter.report import AdditionalData, Step, UUTReport
from wats_converter.report.parts import SeqCall, StepStatus

# TestResults namespaces by generation; later generations are recognised by their URN prefix
GENERATIONS = {
    "http://www.ieee.org/ATML/2007/TestResults": "2.02",
    "urn:IEEE-1636.1:2011:01:TestResults": "5.00",
    "urn:IEEE-1636.1:2011:01:TestResultsCollection": "5.00",
    "urn:IEEE-1636.1:2013:TestResults": "6.01",
    "urn:IEEE-1636.1:2013:TestResultsCollection": "6.01",
}
ROOT_NAMES = ("TestResults", "TestResultsCollection")
# step Data items mapped to WSJF fields; any other is one of TestStand's additional results
DATA_ITEMS = frozenset(
    {"ReportText", "Error", "ErrorMessage", "ErrorCode", "Error.Msg", "Error.Code", None}
)


class ATMLConverter(ConverterBase):
    """Reads TestStand ATML reports (`.xml`); recognises them by root element, so it can share
    a folder with WSXF and TestStand XML files."""

    name = "ATMLConverter"
    cpu_heavy = True
    supported_extensions = (".xml",)
    Settings = TestStandSettings

    def recognizes(self, head: bytes, file_path: Path) -> Recognition:
        return recognize_xml(head, _is_atml)

    def convert_file(self, file_path: Path, context: ConversionContext) -> list[UUTReport]:
        root = read_report(file_path, self.settings)
        if local(root) not in ROOT_NAMES:
            raise ConversionError(
                f"root element <{local(root)}> is not ATML (<TestResults> or "
                "<TestResultsCollection>)",
                field=local(root),
            )
        units = [root] if local(root) == "TestResults" else children(root, "TestResults")
        if not units:
            raise ConversionError("the file holds no <TestResults>", field="TestResults")
        return [_Unit(self, element, i).report() for i, element in enumerate(units)]


def _is_atml(root: XmlHead) -> Recognition:
    generation = GENERATIONS.get(root.namespace)
    if generation is None and root.namespace.startswith("urn:IEEE-1636.1:"):
        generation = "(a later generation)"
    if root.name in ROOT_NAMES and generation is not None:
        return Recognition(True, f"root element {root.describe()} is ATML {generation}")
    return Recognition(
        False, f"root element {root.describe()} is not an ATML <TestResults> (IEEE 1636.1)"
    )


class _Unit:
    """One `TestResults` element becoming one report."""

    def __init__(self, converter: ATMLConverter, element: ET.Element, index: int) -> None:
        self.converter = converter
        self.settings: TestStandSettings = converter.settings
        self.el = element
        self.where = f"TestResults[{index}]"
        self.index = index
        self.tz = zone(self.settings.timezone)
        # TestStand's extension properties of the unit (not of its steps): failure stack, batch
        self.properties = [
            e
            for top in (*children(element, "Extension"), *children(element, "UUT"))
            for e in top.iter()
        ]
        self.critical = {
            e.get("resultID")
            for e in self.properties
            if local(e) == "CriticalFailureStackEntry" and e.get("resultID")
        }

    def report(self) -> UUTReport:
        el, where = self.el, self.where
        result_set = child(el, "ResultSet")
        if result_set is None:
            raise ConversionError(
                f"{where}: no <ResultSet> (the test's results)", field="ResultSet"
            )
        sn = text(child(el, "UUT", "SerialNumber"))
        if not sn:
            raise ConversionError(f"{where}: no UUT serial number", field="UUT/SerialNumber")
        pn = self._part_number() or self.settings.part_number
        if not pn:
            raise ConversionError(
                f"{where}: the file names no part number; set the converter's `part_number`",
                field="IdentificationNumber",
            )
        start_naive = read_time(result_set.get("startDateTime"), f"{where}.ResultSet.startDateTime")
        if start_naive is None:
            raise ConversionError(f"{where}: ResultSet has no startDateTime", field="startDateTime")
        report = UUTReport(pn=pn[:NAME_MAX], sn=sn[:NAME_MAX], rev=self.settings.revision)
        report.start = localize(start_naive, self.tz).note_on(report)
        report.processCode = self.settings.process_code
        report.id = self._id(sn, report)
        report.machineName = (text(child(el, "TestStation", "SerialNumber")) or "")[
            :NAME_MAX
        ] or None
        operator = child(el, "Personnel", "SystemOperator")
        if operator is not None:
            report.uut.user = (operator.get("ID") or operator.get("name") or "")[:NAME_MAX] or None
        end = read_time(result_set.get("endDateTime"), f"{where}.ResultSet.endDateTime")
        if end is not None:
            report.uut.execTime = max(0.0, elapsed_s(start_naive, end, self.tz))
        self._batch(report)
        top = self._top(result_set)
        path, seq = split_sequence(top.get("name") or result_set.get("name") or "")
        report.root.seqCall = SeqCall(
            path=path[:500] or None,
            name=(seq or "MainSequence")[:200],
            version=self.settings.sequence_version[:30] or None,
        )
        status = self._status(top) if child(top, "Outcome") is not None else None
        status = status or self._status(result_set)
        for step in step_elements(top):
            self._step(report.root, step)
        report.root.status = status
        keep_outcome(report, status)
        return report

    def _part_number(self) -> str | None:
        ids = [
            e
            for e in (
                child(self.el, "UUT", "Definition", "Identification", "IdentificationNumbers")
            )
            or ()
            if local(e) == "IdentificationNumber" and e.get("number")
        ]
        part = next((e for e in ids if (e.get("type") or "").lower() == "part"), None)
        chosen = part if part is not None else (ids[0] if ids else None)
        return chosen.get("number", "").strip() if chosen is not None else None

    def _id(self, sn: str, report: UUTReport) -> uuid.UUID:
        raw = self.el.get("uuid")
        if raw:
            try:
                return uuid.UUID(raw.strip())
            except ValueError:
                raise ConversionError(
                    f"{self.where}@uuid: {raw!r} is not a UUID", field="uuid"
                ) from None
        assert report.start is not None
        return unit_id(self.converter.display_name, sn, report.start.isoformat(), self.index)

    def _batch(self, report: UUTReport) -> None:
        """Test socket and batch serial from TestStand's extension properties, where written."""
        for e in self.properties:
            name = local(e)
            value = e.get("value") if e.get("value") is not None else text(e)
            if not value:
                continue
            if name == "TestSocketIndex":
                try:
                    socket = int(float(value))
                except ValueError:
                    continue
                report.uut.testSocketIndex = socket if socket >= 0 else None
            elif name == "BatchSerialNumber":
                report.uut.batchSN = value[:NAME_MAX]

    def _top(self, result_set: ET.Element) -> ET.Element:
        """The element whose steps are the root's: TestStand 2.02 wraps them in a TestGroup for
        the MainSequence callback (same ID as the ResultSet); 5.00 and 6.01 do not."""
        steps = step_elements(result_set)
        if len(steps) == 1 and local(steps[0]) == "TestGroup":
            group = steps[0]
            same = group.get("ID") is not None and group.get("ID") == result_set.get("ID")
            if same or "MainSequence Callback" in (group.get("userDefinedType") or ""):
                return group
        return result_set

    def _status(self, el: ET.Element) -> StepStatus:
        outcome = child(el, "Outcome")
        if outcome is None:
            outcome = child(el, "ActionOutcome")
        if outcome is None:
            return "U"
        return step_status(outcome.get("value"), outcome.get("qualifier"))

    def _step(self, parent: Step, el: ET.Element, depth: int = 1) -> None:
        where = f"{self.where} step {el.get('ID') or ''} {el.get('name') or ''}".rstrip()
        props = child(el, "Extension", "TSStepProperties")
        step_type = text(child(props, "StepType"))
        status = self._status(el)
        common = self._common(el, props, where)
        kind = step_kind(step_type)
        if local(el) == "TestGroup" or kind == "sequence":
            check_depth(depth, where)
            path, seq = split_sequence(el.get("name") or "")
            name = caller_name(el) or seq or path or "Sequence"
            sequence = parent.add_sequence(
                name[:NAME_MAX],
                path=path[:500] or None,
                version=None,
                status=status,
                **common,
            )
            for item in step_elements(el):
                self._step(sequence, item, depth + 1)
            return
        name = (el.get("name") or step_type or "Step")[:NAME_MAX]
        results = children(el, "TestResult")
        if kind is None:
            kind = kind_from_data(results)
        if kind == "action" or (not results and (status not in ("P", "F") or kind != "pass_fail")):
            # an action, or a test that never ran (no data): the step and its verdict only
            step = parent.add_action_step(name, status=status, **common)
            step.stepType = step_type if kind == "action" else WATS_STEP_TYPES[kind]
            step.stepType = step.stepType or "Action"
            return
        if kind in ("pass_fail", "multi_pass_fail"):
            self._pass_fail(parent, name, status, results, common)
        elif kind in ("numeric", "multi_numeric"):
            self._numeric(parent, name, status, results, common, multi=kind == "multi_numeric")
        else:
            self._string(parent, name, status, results, common, multi=kind == "multi_string")

    def _common(self, el: ET.Element, props: ET.Element | None, where: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        start = read_time(el.get("startDateTime"), f"{where}.startDateTime")
        if start is not None:
            fields["start"] = localize(start, self.tz).time
        total = attr_number(child(props, "TotalTime"))
        if total is None and start is not None:
            end = read_time(el.get("endDateTime"), f"{where}.endDateTime")
            total = elapsed_s(start, end, self.tz) if end is not None else None
        if total is not None:
            fields["totTime"] = total
        fields["group"] = step_group(text(child(props, "StepGroup")))
        caused = child(props, "StepCausedSequenceFailure")
        if caused is not None and (caused.get("value") or "").lower() == "true":
            fields["causedSeqFailure"] = True
        if el.get("ID") in self.critical:
            fields["causedUUTFailure"] = True
        report_text, code, message = step_data(el, props)
        if report_text:
            fields["reportText"] = report_text
        if code is not None:
            fields["errorCode"] = code
        if message:
            fields["errorMessage"] = message[:200]
        extra = [
            AdditionalData(name=item.get("name", ""), props=[additional_prop(item)])
            for item in children(child(el, "Data", "Collection"), "Item")
            if item.get("name") not in DATA_ITEMS
        ]
        if extra:
            fields["additionalResults"] = extra
        return fields

    def _numeric(
        self,
        parent: Step,
        name: str,
        status: StepStatus,
        results: list[ET.Element],
        common: dict[str, Any],
        *,
        multi: bool,
    ) -> None:
        where = f"{self.where} step {name!r}"
        if not multi and len(results) == 1:
            value, unit = numeric_datum(results[0], where)
            op, low, high = numeric_limits(results[0], where)
            parent.add_numeric_step(
                name,
                value,
                low,
                high,
                comp=op,
                unit=unit,
                meas_status=meas_status(results[0], status, single=True),
                status=status,
                **common,
            )
            return
        step = parent.add_step(name, status=status, **common)
        for i, result in enumerate(results):
            value, unit = numeric_datum(result, where)
            op, low, high = numeric_limits(result, where)
            step.add_numeric_measurement(
                meas_name(result, i, step.numericMeas),
                value,
                low,
                high,
                comp=op,
                unit=unit,
                meas_status=meas_status(result, status, single=False),
            )

    def _pass_fail(
        self,
        parent: Step,
        name: str,
        status: StepStatus,
        results: list[ET.Element],
        common: dict[str, Any],
    ) -> None:
        if len(results) <= 1:
            parent.add_pass_fail_step(name, status == "P", status=status, **common)
            return
        step = parent.add_step(name, status=status, **common)
        for i, result in enumerate(results):
            meas = meas_status(result, status, single=False)
            boolean = datum_value(child(result, "TestData", "Datum"))
            passed = meas == "P" if meas else (boolean or "").lower() == "true"
            step.add_pass_fail_measurement(meas_name(result, i, step.booleanMeas), passed)

    def _string(
        self,
        parent: Step,
        name: str,
        status: StepStatus,
        results: list[ET.Element],
        common: dict[str, Any],
        *,
        multi: bool,
    ) -> None:
        where = f"{self.where} step {name!r}"
        if not multi and len(results) == 1:
            value, op, limit = string_parts(results[0], where)
            parent.add_string_step(
                name,
                value,
                limit,
                comp=op,
                meas_status=meas_status(results[0], status, single=True),
                status=status,
                **common,
            )
            return
        step = parent.add_step(name, status=status, **common)
        for i, result in enumerate(results):
            value, op, limit = string_parts(result, where)
            step.add_string_measurement(
                meas_name(result, i, step.stringMeas),
                value,
                limit,
                comp=op,
                meas_status=meas_status(result, status, single=False),
            )
