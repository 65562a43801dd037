"""The WATS Standard XML Format (spec §3.2), read safely into reports: the format itself, below
both its users, the `WSXFConverter` (converters/builtin/wsxf.py) and the local server's
`POST /api/Report/WSXF` (server/api.py).

XML is read with defusedxml: no DTDs, no entity expansion, no external entities, so a hostile
document fails fast with a clear error. `render_wsxf` (wsxf_render.py) writes the same format.

An empty attribute is an absent field (the server's WSJF export of the same report has nothing
there), except a string measurement's value and limit, where "" is data. Every element and
attribute is either read or named, in the log and in a conversion note of the report, as not
read (`wsxf_vocabulary.KNOWN` lists what is read).
"""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from wats_converter.errors import ConversionError, ReportValidationError
from wats_converter.formats.wsxf_vocabulary import (
    GROUPS,
    NS,
    NUMERIC_ATTRS,
    RESULTS,
    STATUSES,
    STEP_ATTRS,
    Q,
    read_additional,
    read_attrs,
    read_code,
    read_number,
    trimmed,
    unread,
)
from wats_converter.formats.xml import parse_document
from wats_converter.report import UUTReport, infer_step_type
from wats_converter.report.model import Step, describe_validation_error
from wats_converter.report.readings import apply_nan_policy

log = logging.getLogger(__name__)


def parse_wsxf(content: str | bytes, logger: logging.Logger | None = None) -> list[UUTReport]:
    """Every `<Report>` of a WSXF document as a report (statuses as in the file).

    What the file has and the converter does not read is logged on `logger` and noted in the
    report (`UUTReport.conversion_notes()`)."""
    root = parse_document(content)
    if root.tag != f"{Q}Reports":
        raise ConversionError(
            f'root element is {root.tag!r}; a WSXF file has <Reports xmlns="{NS}">', field="Reports"
        )
    reports = root.findall(f"{Q}Report")
    if not reports:
        raise ConversionError("the file holds no <Report>", field="Report")
    out = []
    for i, element in enumerate(reports):
        report = _report(element, i)
        for name, count in sorted(unread(element).items()):
            note = f"WSXF {name} not read ({count}x)"
            (logger or log).warning("Report[%d]: %s", i, note)
            report.add_conversion_note(note)
        out.append(report)
    return out


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
        "pn": trimmed(el.get("PN")),
        "sn": trimmed(el.get("SN")),
        "rev": trimmed(el.get("Rev")) or "",
        "machineName": trimmed(el.get("MachineName")),
        "location": trimmed(el.get("Location")),
        "purpose": trimmed(el.get("Purpose")),
        "start": el.get("Start"),
        "startUTC": el.get("Start_utc"),
        "productName": el.get("ProductName") or None,
        "origin": el.get("origin") or None,
        "result": read_code(el.get("Result"), RESULTS, f"{where}.Result"),
        "processCode": read_number(process.get("Code"), int, f"{where}.Process.Code"),
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
            read_attrs(
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
        "additionalData": [
            read_additional(a, f"{where}.AdditionalData") for a in el.findall(f"{Q}AdditionalData")
        ]
        or None,
    }
    report = UUTReport.from_wsjf(
        {k: v for k, v in fields.items() if v is not None}
        | {"root": _step(root_steps[0], f"{where}.Step")}
    )
    return report


def _uut(el: ET.Element, where: str) -> dict[str, Any]:
    info = read_attrs(
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
            "StepIdCausedUUTFailure": ("stepIdCausedUUTFailure", int),
        },
        f"{where}.UUT",
    )
    comment = el.find(f"{Q}Comment")
    if comment is not None and comment.text:
        info["comment"] = comment.text
    return info


def _misc(el: ET.Element, where: str) -> dict[str, Any]:
    info = read_attrs(
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
    return read_attrs(
        el,
        {
            "PartType": ("partType", str),
            "PN": ("pn", str),
            "SN": ("sn", str),
            "Rev": ("rev", str),
            "Position": ("position", int),
            "Idx": ("idx", int),
            "ParentIDX": ("parentIdx", int),
            "ReplacedIDX": ("replacedIdx", int),
        },
        where,
    )


def _step(el: ET.Element, where: str) -> dict[str, Any]:
    step = read_attrs(el, STEP_ATTRS, where)
    step["group"] = read_code(el.get("Group", "Main"), GROUPS, f"{where}.Group")
    step["status"] = read_code(el.get("Status"), STATUSES, f"{where}.Status")
    text = el.find(f"{Q}ReportText")
    if text is not None and text.text:
        step["reportText"] = text.text
    loop = el.find(f"{Q}Loop")
    if loop is not None:
        step["loop"] = read_attrs(
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
    apply_nan_policy(step)
    results = [
        read_additional(a, f"{where}.AdditionalResults")
        for a in el.findall(f"{Q}AdditionalResults")
    ]
    if results:
        step["additionalResults"] = results
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
        step["messagePopup"] = read_attrs(
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
        step["callExe"] = read_attrs(
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
    meas = read_attrs(el, attrs, where)
    if "Status" in el.attrib:
        meas["status"] = read_code(
            el.get("Status"), {"passed": "P", "failed": "F", "skipped": "S"}, f"{where}.Status"
        )
    return meas


def _chart(el: ET.Element, where: str) -> dict[str, Any]:
    chart = read_attrs(
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
