"""WSXFConverter: WATS Standard XML Format files (spec §3.2), parsed safely.

XML is read with defusedxml: no DTDs, no entity expansion, no external entities, and the file
size is bounded by `max_file_size_bytes`, so a hostile file fails fast with a clear error.
`render_wsxf` (wsxf_render.py) writes the same format.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from pydantic import ValidationError

from wats_converter.converters.api import ConverterBase, ConverterSettings
from wats_converter.converters.content import Recognition, XmlHead, recognize_xml
from wats_converter.errors import ConversionError, ReportValidationError
from wats_converter.report import UUTReport, infer_step_type
from wats_converter.report.model import Step, describe_validation_error

NS = "http://wats.virinco.com/schemas/WATS/Report/wsxf"
Q = f"{{{NS}}}"
RESULTS = {"passed": "P", "failed": "F", "error": "E", "terminated": "T"}
STATUSES = {**RESULTS, "done": "D", "skipped": "S", "unknown": "U"}
GROUPS = {"setup": "S", "main": "M", "cleanup": "C"}
PAYLOAD_ELEMENTS = (
    "SequenceCall",
    "NumericLimit",
    "StringValue",
    "PassFail",
    "MessagePopup",
    "Callexe",
)


class WSXFConverter(ConverterBase):
    """Reads `*.xml` files in the WSXF namespace; one file may hold several reports."""

    name = "WSXFConverter"
    supported_extensions = (".xml",)
    Settings = ConverterSettings

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        return parse_wsxf(content)

    def recognizes(self, head: bytes, file_path: Path) -> Recognition:
        """WSXF is `<Reports>` in the WSXF namespace (TestStand XML's `<Reports>` has none)."""
        return recognize_xml(head, _is_wsxf)


def _is_wsxf(root: XmlHead) -> Recognition:
    if root.name == "Reports" and root.namespace == NS:
        return Recognition(True, f"root element {root.describe()} is WSXF")
    return Recognition(False, f'root element {root.describe()} is not <Reports xmlns="{NS}">')


def parse_wsxf(content: str | bytes) -> list[UUTReport]:
    """Every `<Report>` of a WSXF document as a report (statuses as in the file)."""
    try:
        root = SafeET.fromstring(
            content, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise ConversionError(
            f"refused unsafe XML ({type(exc).__name__}): DTDs and entities are not allowed in WSXF"
        ) from None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ConversionError(f"not well-formed XML: {exc}", line=line) from None
    if root.tag != f"{Q}Reports":
        raise ConversionError(
            f'root element is {root.tag!r}; a WSXF file has <Reports xmlns="{NS}">', field="Reports"
        )
    reports = root.findall(f"{Q}Report")
    if not reports:
        raise ConversionError("the file holds no <Report>", field="Report")
    return [_report(element, i) for i, element in enumerate(reports)]


def _report(el: ET.Element, index: int) -> UUTReport:
    where = f"Report[{index}]"
    if el.get("type", "UUT") != "UUT":
        raise ConversionError(f"{where}: type {el.get('type')!r}: only UUT reports are supported")
    uut = el.find(f"{Q}UUT")
    process = el.find(f"{Q}Process")
    root_steps = el.findall(f"{Q}Step")
    if uut is None or process is None or len(root_steps) != 1:
        raise ConversionError(
            f"{where}: needs one <UUT>, one <Process> and exactly one root <Step>"
        )
    fields: dict[str, Any] = {
        "id": el.get("ID") or None,
        "pn": _text(el.get("PN")),
        "sn": _text(el.get("SN")),
        "rev": _text(el.get("Rev")) or "",
        "machineName": _text(el.get("MachineName")),
        "location": _text(el.get("Location")),
        "purpose": _text(el.get("Purpose")),
        "start": el.get("Start"),
        "startUTC": el.get("Start_utc"),
        "result": _code(el.get("Result"), RESULTS, f"{where}.Result"),
        "processCode": _num(process.get("Code"), int, f"{where}.Process.Code"),
        "processName": process.get("Name"),
        "processCodeFormat": process.get("CodeFormat"),
        "uut": _uut(uut, where),
        "miscInfos": [_misc(m, f"{where}.MiscInfo") for m in el.findall(f"{Q}MiscInfo")] or None,
        "subUnits": [
            _sub_unit(u, f"{where}.ReportUnitHierarchy")
            for u in el.findall(f"{Q}ReportUnitHierarchy")
        ]
        or None,
        "assets": [
            _attrs(
                a,
                {
                    "AssetSN": ("assetSN", str),
                    "UsageCount": ("usageCount", int),
                    "UsageCountFormat": ("usageCountFormat", str),
                },
                f"{where}.Asset",
            )
            for a in el.findall(f"{Q}Asset")
        ]
        or None,
    }
    report = UUTReport.from_wsjf(
        {k: v for k, v in fields.items() if v is not None}
        | {"root": _step(root_steps[0], f"{where}.Step")}
    )
    return report


def _uut(el: ET.Element, where: str) -> dict[str, Any]:
    info = _attrs(
        el,
        {
            "UserLoginName": ("user", str),
            "BatchSN": ("batchSN", str),
            "TestSocketIndex": ("testSocketIndex", int),
            "ExecutionTime": ("execTime", float),
            "FixtureId": ("fixtureId", str),
            "ErrorCode": ("errorCode", int),
            "ErrorMessage": ("errorMessage", str),
            "BatchFailCount": ("batchFailCount", int),
            "BatchLoopIndex": ("batchLoopIndex", int),
            "ExecutionTimeFormat": ("execTimeFormat", str),
            "TestSocketIndexFormat": ("testSocketIndexFormat", str),
            "ErrorCodeFormat": ("errorCodeFormat", str),
            "BatchFailCountFormat": ("batchFailCountFormat", str),
            "BatchLoopIndexFormat": ("batchLoopIndexFormat", str),
        },
        f"{where}.UUT",
    )
    comment = el.find(f"{Q}Comment")
    if comment is not None and comment.text:
        info["comment"] = comment.text
    return info


def _misc(el: ET.Element, where: str) -> dict[str, Any]:
    info = _attrs(
        el,
        {
            "Description": ("description", str),
            "Typedef": ("typedef", str),
            "Numeric": ("numeric", int),
            "NumericFormat": ("numericFormat", str),
        },
        where,
    )
    if el.text is not None:
        info["text"] = el.text
    return info


def _sub_unit(el: ET.Element, where: str) -> dict[str, Any]:
    return _attrs(
        el,
        {
            "PartType": ("partType", str),
            "PN": ("pn", str),
            "SN": ("sn", str),
            "Rev": ("rev", str),
            "Position": ("position", int),
        },
        where,
    )


STEP_ATTRS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "Id": ("id", int),
    "Name": ("name", str),
    "total_time": ("totTime", float),
    "Start": ("start", str),
    "StepErrorCode": ("errorCode", int),
    "StepErrorMessage": ("errorMessage", str),
    "StepErrorCodeFormat": ("errorCodeFormat", str),
    "StepCausedUUTFailure": ("causedUUTFailure", lambda v: v.lower() == "true"),
    "StepCausedSequenceFailure": ("causedSeqFailure", lambda v: v.lower() == "true"),
    "TSGuid": ("tsGuid", str),
    "total_timeFormat": ("totTimeFormat", str),
}
NUMERIC_ATTRS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "Name": ("name", str),
    "NumericValue": ("value", float),
    "Units": ("unit", str),
    "CompOperator": ("compOp", str),
    "LowLimit": ("lowLimit", float),
    "HighLimit": ("highLimit", float),
    "NumericValueFormat": ("valueFormat", str),
    "LowLimitFormat": ("lowLimitFormat", str),
    "HighLimitFormat": ("highLimitFormat", str),
}


def _step(el: ET.Element, where: str) -> dict[str, Any]:
    step = _attrs(el, STEP_ATTRS, where)
    step["group"] = _code(el.get("Group", "Main"), GROUPS, f"{where}.Group")
    step["status"] = _code(el.get("Status"), STATUSES, f"{where}.Status")
    text = el.find(f"{Q}ReportText")
    if text is not None and text.text:
        step["reportText"] = text.text
    loop = el.find(f"{Q}Loop")
    if loop is not None:
        step["loop"] = _attrs(
            loop,
            {
                "num": ("num", int),
                "passed": ("passed", int),
                "failed": ("failed", int),
                "ending_index": ("endingIndex", int),
                "index": ("idx", int),
            },
            f"{where}.Loop",
        )
    _payload(el, step, where)
    children = el.findall(f"{Q}Step")
    if children:
        step["steps"] = [_step(c, f"{where}.Step[{i}]") for i, c in enumerate(children)]
    try:
        built = Step.model_validate(step)
    except ValidationError as exc:
        raise ReportValidationError(describe_validation_error(exc, prefix=where)) from None
    built.stepType = (
        infer_step_type(built) if _has_payload(built) else (el.get("StepType") or "Action")
    )
    if built.status == "P" and any(m.status == "F" for m in _measurements(built)):
        built.status = "F"  # the WSXF rule: a failed measurement fails a "Passed" step
    return built.model_dump(exclude_none=True)


def _payload(el: ET.Element, step: dict[str, Any], where: str) -> None:
    seq = el.find(f"{Q}SequenceCall")
    if seq is not None:
        step["seqCall"] = {
            k: v
            for k, v in (
                ("name", seq.get("Name")),
                ("version", seq.get("Version")),
                ("path", seq.get("Filepath") or seq.get("Filename")),
            )
            if v
        }
        step.setdefault("steps", [])
    numeric = el.findall(f"{Q}NumericLimit")
    if numeric:
        step["numericMeas"] = [_meas(m, NUMERIC_ATTRS, f"{where}.NumericLimit") for m in numeric]
    strings = el.findall(f"{Q}StringValue")
    if strings:
        step["stringMeas"] = [
            _meas(
                m,
                {
                    "Name": ("name", str),
                    "StringValue": ("value", str),
                    "StringLimit": ("limit", str),
                    "CompOperator": ("compOp", str),
                },
                f"{where}.StringValue",
            )
            for m in strings
        ]
    passfail = el.findall(f"{Q}PassFail")
    if passfail:
        step["booleanMeas"] = [
            _meas(m, {"Name": ("name", str)}, f"{where}.PassFail") for m in passfail
        ]
    popup = el.find(f"{Q}MessagePopup")
    if popup is not None:
        step["messagePopup"] = _attrs(
            popup,
            {
                "Response": ("response", str),
                "Button": ("button", int),
                "ButtonFormat": ("buttonFormat", str),
            },
            where,
        )
    exe = el.find(f"{Q}Callexe")
    if exe is not None:
        step["callExe"] = _attrs(
            exe, {"ExitCode": ("exitCode", float), "ExitCodeFormat": ("exitCodeFormat", str)}, where
        )
    chart = el.find(f"{Q}Chart")
    if chart is not None:
        step["chart"] = _chart(chart, f"{where}.Chart")
    attachment = el.find(f"{Q}Attachment")
    if attachment is not None:
        step["attachment"] = {
            "name": attachment.get("Name", ""),
            "contentType": attachment.get("ContentType", "application/octet-stream"),
            "data": "".join((attachment.text or "").split()),
        }


def _meas(
    el: ET.Element, attrs: dict[str, tuple[str, Callable[[str], Any]]], where: str
) -> dict[str, Any]:
    meas = _attrs(el, attrs, where)
    if "Status" in el.attrib:
        meas["status"] = _code(
            el.get("Status"), {"passed": "P", "failed": "F", "skipped": "S"}, f"{where}.Status"
        )
    return meas


def _chart(el: ET.Element, where: str) -> dict[str, Any]:
    chart = _attrs(
        el,
        {
            "ChartType": ("chartType", str),
            "Label": ("label", str),
            "XLabel": ("xLabel", str),
            "XUnit": ("xUnit", str),
            "YLabel": ("yLabel", str),
            "YUnit": ("yUnit", str),
        },
        where,
    )
    series = []
    for s in el.findall(f"{Q}Series"):
        y, x = s.find(f"{Q}ydata"), s.find(f"{Q}xdata")
        if y is None:
            raise ConversionError(f"{where}.Series: <ydata> is required", field="ydata")
        item = {"name": s.get("Name"), "dataType": s.get("DataType", "XYG"), "ydata": y.text or ""}
        if x is not None:
            item["xdata"] = x.text or ""
        series.append({k: v for k, v in item.items() if v is not None})
    chart["series"] = series
    return chart


def _attrs(
    el: ET.Element, spec: dict[str, tuple[str, Callable[[str], Any]]], where: str
) -> dict[str, Any]:
    out = {}
    for attr, (key, kind) in spec.items():
        value = el.get(attr)
        if value is not None:
            out[key] = _num(value, kind, f"{where}.{attr}") if kind in (int, float) else kind(value)
    return out


def _num(value: str | None, kind: Callable[[str], Any], where: str) -> Any:
    if value is None:
        return None
    try:
        return kind(value.strip())
    except ValueError:
        raise ConversionError(f"{where}: {value!r} is not a number", field=where) from None


def _code(value: str | None, table: dict[str, str], where: str) -> str | None:
    if value is None:
        return None
    code = table.get(value.strip().lower())
    if code is None:
        raise ConversionError(f"{where}: {value!r} is not one of {', '.join(table)}", field=where)
    return code


def _text(value: str | None) -> str | None:
    return value.strip() if value is not None else None  # WATS trims header strings


def _has_payload(step: Step) -> bool:
    return any(
        getattr(step, k) is not None
        for k in (
            "seqCall",
            "numericMeas",
            "stringMeas",
            "booleanMeas",
            "callExe",
            "messagePopup",
            "chart",
            "attachment",
        )
    )


def _measurements(step: Step) -> list[Any]:
    return [*(step.numericMeas or ()), *(step.stringMeas or ()), *(step.booleanMeas or ())]


def report_from_wsxf_body(body: bytes) -> UUTReport:
    """The single report of a REST WSXF body (the server's `POST /api/Report/WSXF`)."""
    reports = parse_wsxf(body)
    if len(reports) != 1:
        raise ReportValidationError(
            [f"Reports: the REST endpoint takes one <Report>, got {len(reports)}"]
        )
    report = reports[0]
    if report.id is None:
        report.id = uuid.uuid4()
    return report
