"""The WATS Standard XML Format (spec §3.2), read safely into reports: the format itself, below
both its users, the `WSXFConverter` (converters/builtin/wsxf.py) and the local server's
`POST /api/Report/WSXF` (server/api.py).

XML is read with defusedxml: no DTDs, no entity expansion, no external entities, so a hostile
document fails fast with a clear error. `render_wsxf` (wsxf_render.py) writes the same format.

An empty attribute is an absent field (the server's WSJF export of the same report has nothing
there), except a string measurement's value and limit, where "" is data. Every element and
attribute is either read or named, in the log and in a conversion note of the report, as not
read (`KNOWN` lists what is read).
"""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from wats_converter.errors import ConversionError, ReportValidationError
from wats_converter.formats.xml import parse_document
from wats_converter.report import UUTReport, infer_step_type
from wats_converter.report.model import Step, describe_validation_error
from wats_converter.report.readings import apply_nan_policy

log = logging.getLogger(__name__)

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
        "pn": _text(el.get("PN")),
        "sn": _text(el.get("SN")),
        "rev": _text(el.get("Rev")) or "",
        "machineName": _text(el.get("MachineName")),
        "location": _text(el.get("Location")),
        "purpose": _text(el.get("Purpose")),
        "start": el.get("Start"),
        "startUTC": el.get("Start_utc"),
        "productName": el.get("ProductName") or None,
        "origin": el.get("origin") or None,
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
        "additionalData": [
            _additional(a, f"{where}.AdditionalData") for a in el.findall(f"{Q}AdditionalData")
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
            "StepIdCausedUUTFailure": ("stepIdCausedUUTFailure", int),
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
            "Idx": ("idx", int),
            "ParentIDX": ("parentIdx", int),
            "ReplacedIDX": ("replacedIdx", int),
        },
        where,
    )


PROP_ATTRS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "Name": ("name", str),
    "Type": ("type", str),
    "Flags": ("flags", int),
    "Value": ("value", str),
    "NumFormat": ("numFormat", str),
    "Comment": ("comment", str),
}


def _additional(el: ET.Element, where: str) -> dict[str, Any]:
    """`<AdditionalData>` / `<AdditionalResults>`: the schema's AdditionalData, attribute names
    capitalised (`Name`; `Prop` children with `Name Type Flags Value NumFormat Comment`)."""
    data = _attrs(el, {"Name": ("name", str)}, where)
    props = [_prop(p, f"{where}.Prop") for p in el.findall(f"{Q}Prop")]
    if props:
        data["props"] = props
    return data


def _prop(el: ET.Element, where: str) -> dict[str, Any]:
    prop = _attrs(el, PROP_ATTRS, where)
    value = el.find(f"{Q}Value")  # a long or multi-line value may be element text instead
    if value is not None and "value" not in prop:
        prop["value"] = value.text or ""
    children = [_prop(p, f"{where}.Prop") for p in el.findall(f"{Q}Prop")]
    if children:
        prop["props"] = children
    array = el.find(f"{Q}Array")
    if array is not None:
        info = _attrs(
            array, {"Dimension": ("dimension", int), "Type": ("type", str)}, f"{where}.Array"
        )
        indexes = []
        for i, index in enumerate(array.findall(f"{Q}Index")):
            item: dict[str, Any] = _attrs(index, {"Text": ("text", str)}, f"{where}.Index[{i}]")
            if index.get("Indexes"):
                item["indexes"] = [
                    _num(n, int, f"{where}.Index[{i}].Indexes")
                    for n in index.get("Indexes", "").split(",")
                ]
            value_prop = index.find(f"{Q}Prop")
            if value_prop is not None:
                item["value"] = _prop(value_prop, f"{where}.Index[{i}].Prop")
            indexes.append(item)
        if indexes:
            info["indexes"] = indexes
        prop["array"] = info
    return prop


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
    apply_nan_policy(step)
    results = [
        _additional(a, f"{where}.AdditionalResults") for a in el.findall(f"{Q}AdditionalResults")
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
        if value == "" and not (kind is str and key in KEEPS_EMPTY):
            continue  # an empty attribute is an absent field, as in the server's WSJF export
        if value is not None:
            out[key] = _num(value, kind, f"{where}.{attr}") if kind in (int, float) else kind(value)
    return out


# "" is a reading here, not an absent one
KEEPS_EMPTY = frozenset({"value", "limit"})


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


_MEAS = ("Status",)
# element -> (attributes read, child elements read); anything else is noted as not read
KNOWN: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    tag: (frozenset(attrs), frozenset(children))
    for tag, attrs, children in (
        (
            "Report",
            (
                "type",
                "ID",
                "Start",
                "Start_utc",
                "Result",
                "SN",
                "PN",
                "Rev",
                "MachineName",
                "Location",
                "Purpose",
                "ProductName",
                "origin",
            ),
            (
                "UUT",
                "Process",
                "MiscInfo",
                "ReportUnitHierarchy",
                "Asset",
                "AdditionalData",
                "Step",
            ),
        ),
        (
            "UUT",
            (
                "UserLoginName",
                "BatchSN",
                "TestSocketIndex",
                "ExecutionTime",
                "FixtureId",
                "ErrorCode",
                "ErrorMessage",
                "BatchFailCount",
                "BatchLoopIndex",
                "ExecutionTimeFormat",
                "TestSocketIndexFormat",
                "ErrorCodeFormat",
                "BatchFailCountFormat",
                "BatchLoopIndexFormat",
                "StepIdCausedUUTFailure",
            ),
            ("Comment",),
        ),
        ("Comment", (), ()),
        ("Process", ("Code", "Name", "CodeFormat"), ()),
        ("MiscInfo", ("Description", "Typedef", "Numeric", "NumericFormat"), ()),
        (
            "ReportUnitHierarchy",
            ("PartType", "PN", "SN", "Rev", "Position", "Idx", "ParentIDX", "ReplacedIDX"),
            (),
        ),
        ("Asset", ("AssetSN", "UsageCount", "UsageCountFormat"), ()),
        ("AdditionalData", ("Name",), ("Prop",)),
        ("AdditionalResults", ("Name",), ("Prop",)),
        ("Prop", tuple(PROP_ATTRS), ("Prop", "Value", "Array")),
        ("Value", (), ()),
        ("Array", ("Dimension", "Type"), ("Index",)),
        ("Index", ("Text", "Indexes"), ("Prop",)),
        (
            "Step",
            (*STEP_ATTRS, "Group", "Status", "StepType"),
            (
                "ReportText",
                "Loop",
                *PAYLOAD_ELEMENTS,
                "Chart",
                "Attachment",
                "AdditionalResults",
                "Step",
            ),
        ),
        ("ReportText", (), ()),
        ("Loop", ("num", "passed", "failed", "ending_index", "index"), ()),
        ("SequenceCall", ("Name", "Version", "Filepath", "Filename"), ()),
        ("NumericLimit", (*NUMERIC_ATTRS, *_MEAS), ()),
        ("StringValue", ("Name", "StringValue", "StringLimit", "CompOperator", *_MEAS), ()),
        ("PassFail", ("Name", *_MEAS), ()),
        ("MessagePopup", ("Response", "Button", "ButtonFormat"), ()),
        ("Callexe", ("ExitCode", "ExitCodeFormat"), ()),
        ("Chart", ("ChartType", "Label", "XLabel", "XUnit", "YLabel", "YUnit"), ("Series",)),
        ("Series", ("Name", "DataType"), ("ydata", "xdata")),
        ("ydata", (), ()),
        ("xdata", (), ()),
        ("Attachment", ("Name", "ContentType"), ()),
    )
}
# schema-instance and xml: attributes describe the document, not the report
_NOT_DATA = ("{http://www.w3.org/2001/XMLSchema-instance}", "{http://www.w3.org/XML/1998/")


def unread(report: ET.Element) -> Counter[str]:
    """What a `<Report>` element holds that the converter does not read: `Tag@Attribute` and
    `<Tag>` names with how often each occurs."""
    missed: Counter[str] = Counter()
    stack = [report]
    while stack:
        el = stack.pop()
        tag = el.tag.removeprefix(Q)
        attrs, children = KNOWN[tag]
        missed.update(
            f"{tag}@{a}" for a in el.attrib if a not in attrs and not a.startswith(_NOT_DATA)
        )
        for child in el:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            name = child.tag.removeprefix(Q)
            if name in children and child.tag.startswith(Q):
                stack.append(child)
            else:
                missed[f"<{name}>"] += 1
    return missed


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
