"""ATMLConverter: NI TestStand ATML reports (IEEE 1636.1), generations 2.02, 5.00 and 6.01.

One report per `TestResults` element (a batch report holds several). Elements are matched by
local name, so every namespace generation reads alike. See docs/converters/atml.md for what is
read from where.
"""

from __future__ import annotations

import math
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

from wats_converter.converters.api import ConversionContext, ConverterBase
from wats_converter.converters.content import Recognition, XmlHead, recognize_xml
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import elapsed_s, localize, zone
from wats_converter.converters.teststand import (
    WATS_STEP_TYPES,
    StepKind,
    TestStandSettings,
    check_depth,
    keep_outcome,
    limit_pair,
    read_report,
    single_comparator,
    step_group,
    step_kind,
    step_status,
    string_comparator,
)
from wats_converter.converters.units import is_nan_reading, unit_symbol
from wats_converter.converters.xmldoc import child, children, local, text
from wats_converter.errors import ConversionError
from wats_converter.report import AdditionalData, AdditionalProp, CompOp, Step, UUTReport
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
STEP_ELEMENTS = ("SessionAction", "Test", "TestGroup")
NAME_MAX = 100
# step Data items mapped to WSJF fields; any other is one of TestStand's additional results
DATA_ITEMS = frozenset(
    {"ReportText", "Error", "ErrorMessage", "ErrorCode", "Error.Msg", "Error.Code", None}
)
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
NUMERIC_TYPES = ("double", "float", "integer", "int", "long", "short", "decimal", "number")


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
        start_naive = _time(result_set.get("startDateTime"), f"{where}.ResultSet.startDateTime")
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
        end = _time(result_set.get("endDateTime"), f"{where}.ResultSet.endDateTime")
        if end is not None:
            report.uut.execTime = max(0.0, elapsed_s(start_naive, end, self.tz))
        self._batch(report)
        top = self._top(result_set)
        path, seq = _split_sequence(top.get("name") or result_set.get("name") or "")
        report.root.seqCall = SeqCall(
            path=path[:500] or None,
            name=(seq or "MainSequence")[:200],
            version=self.settings.sequence_version[:30] or None,
        )
        status = self._status(top) if child(top, "Outcome") is not None else None
        status = status or self._status(result_set)
        for step in _step_elements(top):
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
        steps = _step_elements(result_set)
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
            path, seq = _split_sequence(el.get("name") or "")
            name = _caller(el) or seq or path or "Sequence"
            sequence = parent.add_sequence(
                name[:NAME_MAX],
                path=path[:500] or None,
                version=None,
                status=status,
                **common,
            )
            for item in _step_elements(el):
                self._step(sequence, item, depth + 1)
            return
        name = (el.get("name") or step_type or "Step")[:NAME_MAX]
        results = children(el, "TestResult")
        if kind is None:
            kind = _kind_from_data(results)
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
        start = _time(el.get("startDateTime"), f"{where}.startDateTime")
        if start is not None:
            fields["start"] = localize(start, self.tz).time
        total = _attr_number(child(props, "TotalTime"))
        if total is None and start is not None:
            end = _time(el.get("endDateTime"), f"{where}.endDateTime")
            total = elapsed_s(start, end, self.tz) if end is not None else None
        if total is not None:
            fields["totTime"] = total
        fields["group"] = step_group(text(child(props, "StepGroup")))
        caused = child(props, "StepCausedSequenceFailure")
        if caused is not None and (caused.get("value") or "").lower() == "true":
            fields["causedSeqFailure"] = True
        if el.get("ID") in self.critical:
            fields["causedUUTFailure"] = True
        report_text, code, message = _data(el, props)
        if report_text:
            fields["reportText"] = report_text
        if code is not None:
            fields["errorCode"] = code
        if message:
            fields["errorMessage"] = message[:200]
        extra = [
            AdditionalData(name=item.get("name", ""), props=[_additional(item)])
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
            value, unit = _numeric_datum(results[0], where)
            op, low, high = _numeric_limits(results[0], where)
            parent.add_numeric_step(
                name,
                value,
                low,
                high,
                comp=op,
                unit=unit,
                meas_status=_meas_status(results[0], status, single=True),
                status=status,
                **common,
            )
            return
        step = parent.add_step(name, status=status, **common)
        for i, result in enumerate(results):
            value, unit = _numeric_datum(result, where)
            op, low, high = _numeric_limits(result, where)
            step.add_numeric_measurement(
                _meas_name(result, i, step.numericMeas),
                value,
                low,
                high,
                comp=op,
                unit=unit,
                meas_status=_meas_status(result, status, single=False),
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
            meas = _meas_status(result, status, single=False)
            boolean = _datum_value(child(result, "TestData", "Datum"))
            passed = meas == "P" if meas else (boolean or "").lower() == "true"
            step.add_pass_fail_measurement(_meas_name(result, i, step.booleanMeas), passed)

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
            value, op, limit = _string_parts(results[0], where)
            parent.add_string_step(
                name,
                value,
                limit,
                comp=op,
                meas_status=_meas_status(results[0], status, single=True),
                status=status,
                **common,
            )
            return
        step = parent.add_step(name, status=status, **common)
        for i, result in enumerate(results):
            value, op, limit = _string_parts(result, where)
            step.add_string_measurement(
                _meas_name(result, i, step.stringMeas),
                value,
                limit,
                comp=op,
                meas_status=_meas_status(result, status, single=False),
            )


def _step_elements(el: ET.Element) -> list[ET.Element]:
    return [c for c in el if local(c) in STEP_ELEMENTS]


def _split_sequence(name: str) -> tuple[str, str]:
    """`C:\\...\\file.seq#CPU Test` -> (`C:\\...\\file.seq`, `CPU Test`)."""
    path, hash_, seq = name.rpartition("#")
    return (path, seq) if hash_ else ("", name)


def _caller(el: ET.Element) -> str | None:
    """The sequence call step's own name: `callerName` (5.00, 6.01) or, in 2.02,
    `userDefinedType="SequenceCallStepName = 'CPU Test'"`."""
    caller = el.get("callerName")
    if caller:
        return caller
    defined = el.get("userDefinedType") or ""
    _, eq, rest = defined.partition("=")
    return rest.strip().strip("'\"") or None if eq else None


def _time(value: str | None, where: str) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConversionError(
            f"{where}: {value!r} is not an ISO date and time", field=where
        ) from None


def _attr_number(el: ET.Element | None) -> float | None:
    if el is None:
        return None
    value = el.get("value")
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _data(el: ET.Element, props: ET.Element | None) -> tuple[str | None, int | None, str | None]:
    """Report text and error code/message from the step's `Data` collection (and TestStand's
    step properties)."""
    report_text = code = message = None
    for item in children(child(el, "Data", "Collection"), "Item"):
        name = item.get("name") or ""
        if name == "ReportText":
            report_text = _datum_value(child(item, "Datum"))
        elif name in ("Error", "ErrorMessage", "ErrorCode", "Error.Msg", "Error.Code"):
            for sub in [item, *children(child(item, "Collection"), "Item")]:
                sub_name = sub.get("name") or ""
                value = _datum_value(child(sub, "Datum"))
                if value and sub_name in ("Msg", "ErrorMessage", "Error.Msg"):
                    message = value
                elif value and sub_name in ("Code", "ErrorCode", "Error.Code"):
                    code = _int(value)
    if props is not None:
        message = message or text(child(props, "ErrorMessage"))
        code_el = child(props, "ErrorCode")
        if code is None and code_el is not None:
            code = _int(code_el.get("value") or text(code_el) or "")
    if code == 0 and not message:
        code = None
    return report_text, code, message


def _additional(item: ET.Element) -> AdditionalProp:
    """A `Data` item (a `Datum`, a `Collection` of items, or an `IndexedArray`) as a WSJF
    additional-data property."""
    datum, collection = child(item, "Datum"), child(item, "Collection")
    array = child(item, "IndexedArray")
    if collection is not None:
        return AdditionalProp(
            name=item.get("name"),
            type="Obj",
            props=[_additional(i) for i in children(collection, "Item")] or None,
        )
    if array is not None:
        indexes = [
            {"text": e.get("position", ""), "value": {"value": _datum_value(e) or ""}}
            for e in children(array, "Element")
        ]
        kind = (array.get(XSI_TYPE) or "").rpartition(":")[2]
        return AdditionalProp(
            name=item.get("name"),
            type="Array",
            array={"dimension": 1, "type": kind or None, "indexes": indexes},
        )
    kind = ((datum.get(XSI_TYPE) or "") if datum is not None else "").rpartition(":")[2]
    return AdditionalProp(name=item.get("name"), type=kind or None, value=_datum_value(datum))


def _int(value: str) -> int | None:
    try:
        number = int(float(value))
    except ValueError:
        return None
    return number if -(2**31) <= number < 2**31 else None


def _datum_value(datum: ET.Element | None) -> str | None:
    """A `Datum`'s value: its `value` attribute or its `Value` child's text."""
    if datum is None:
        return None
    if datum.get("value") is not None:
        return datum.get("value")
    value = child(datum, "Value")
    return value.text if value is not None and value.text is not None else None


def _kind_from_data(results: list[ET.Element]) -> StepKind:
    """For a step type this converter does not know: its data decides."""
    if not results:
        return "action"
    datum = child(results[0], "TestData", "Datum")
    if datum is None:
        return "action"
    kind = (datum.get(XSI_TYPE) or "").lower()
    if "bool" in kind:
        return "pass_fail"
    if any(t in kind for t in NUMERIC_TYPES):
        return "numeric" if len(results) == 1 else "multi_numeric"
    return "string" if len(results) == 1 else "multi_string"


def _number(value: str, where: str) -> float:
    if is_nan_reading(value):
        return math.nan
    try:
        number = float(value)
    except ValueError:
        raise ConversionError(f"{where}: {value!r} is not a number", field=where) from None
    return number if math.isfinite(number) else math.nan  # an infinite reading has no value


def _numeric_datum(result: ET.Element, where: str) -> tuple[float | None, str | None]:
    datum = child(result, "TestData", "Datum")
    value = _datum_value(datum)
    if datum is None or value is None:
        return None, None
    unit = unit_symbol(datum.get("nonStandardUnit") or datum.get("unit"))
    return _number(value, f"{where} value"), unit


def _limit_value(el: ET.Element | None, where: str) -> float:
    value = _datum_value(child(el, "Datum"))
    if value is None:
        raise ConversionError(f"{where}: a limit without a value", field=where)
    number = _number(value, where)
    if math.isnan(number):
        raise ConversionError(f"{where}: limit {value!r} is not a finite number", field=where)
    return number


def _numeric_limits(result: ET.Element, where: str) -> tuple[CompOp, float | None, float | None]:
    limits = child(result, "TestLimits", "Limits")
    pair = child(limits, "LimitPair")
    if pair is not None:
        first, second = ([*children(pair, "Limit"), None, None])[:2]
        if first is None or second is None:
            raise ConversionError(
                f"{where}: a LimitPair needs two Limit elements", field="LimitPair"
            )
        op, swapped = limit_pair(
            pair.get("operator") or "AND",
            first.get("comparator") or "",
            second.get("comparator") or "",
            field=f"{where} LimitPair",
        )
        low, high = _limit_value(first, where), _limit_value(second, where)
        return (op, high, low) if swapped else (op, low, high)
    single = child(limits, "SingleLimit")
    if single is None:
        single = child(limits, "Expected")
    if single is not None:
        op = single_comparator(single.get("comparator") or "EQ", field=f"{where} comparator")
        if op is CompOp.LOG:
            return op, None, None
        return op, _limit_value(single, where), None
    return CompOp.LOG, None, None


def _string_parts(result: ET.Element, where: str) -> tuple[str, CompOp, str | None]:
    value = _datum_value(child(result, "TestData", "Datum")) or ""
    limits = child(result, "TestLimits", "Limits")
    expected = child(limits, "Expected")
    if expected is None:
        expected = child(limits, "SingleLimit")
    if expected is None:
        return value, CompOp.LOG, None
    op = string_comparator(expected.get("comparator") or "EQ", field=f"{where} comparator")
    limit = _datum_value(child(expected, "Datum"))
    if op is CompOp.LOG:
        return value, op, None
    return value, op, limit if limit is not None else ""


def _meas_status(result: ET.Element, step: StepStatus, *, single: bool) -> Any:
    """A measurement's own outcome when written, else (one measurement) the step's verdict."""
    outcome = child(result, "Outcome")
    if outcome is not None:
        status = step_status(outcome.get("value"), outcome.get("qualifier"))
        return status if status in ("P", "F", "S") else None
    if single and step in ("P", "F", "S"):
        return step
    return None


def _meas_name(result: ET.Element, index: int, taken: list[Any] | None) -> str:
    name = (result.get("name") or result.get("ID") or f"Measurement {index}")[:NAME_MAX]
    names = {m.name for m in taken or ()}
    return name if name not in names else f"{name[: NAME_MAX - 6]} [{index}]"
