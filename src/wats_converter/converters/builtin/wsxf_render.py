"""Write reports as WSXF (the inverse of wsxf.py), in the element order the spec observed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from wats_converter.formats.wsxf_vocabulary import GROUPS, NS, RESULTS, STATUSES
from wats_converter.report import AdditionalData, AdditionalProp, Chart, UUTReport
from wats_converter.report.model import Step
from wats_converter.report.parts import wsjf_time

Q = f"{{{NS}}}"
WORDS = {code: word.capitalize() for word, code in STATUSES.items()}
GROUP_WORDS = {code: word.capitalize() for word, code in GROUPS.items()}
RESULT_WORDS = {code: word.capitalize() for word, code in RESULTS.items()}
MEAS_WORDS = {"P": "Passed", "F": "Failed", "S": "Skipped"}


def render_wsxf(reports: Iterable[UUTReport]) -> bytes:
    """A `<Reports>` document with one `<Report>` per report."""
    ET.register_namespace("", NS)
    root = ET.Element(f"{Q}Reports")
    for report in reports:
        _report(root, report)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _sub(
    parent: ET.Element, tag: str, attrs: dict[str, Any] | None = None, text: str | None = None
) -> ET.Element:
    el = ET.SubElement(
        parent, f"{Q}{tag}", {k: _value(v) for k, v in (attrs or {}).items() if v is not None}
    )
    if text is not None:
        el.text = text
    return el


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return wsjf_time(v)  # the same text the WSJF form of the report has
    return str(v)


def _report(parent: ET.Element, r: UUTReport) -> None:
    el = _sub(
        parent,
        "Report",
        {
            "type": "UUT",
            "ID": r.id,
            "Start": r.start,
            "Start_utc": r.startUTC,
            "Result": RESULT_WORDS.get(r.result or ""),
            "SN": r.sn,
            "PN": r.pn,
            "Rev": r.rev,
            "MachineName": r.machineName,
            "Location": r.location,
            "Purpose": r.purpose,
        },
    )
    u = r.uut
    uut = _sub(
        el,
        "UUT",
        {
            "UserLoginName": u.user,
            "BatchSN": u.batchSN,
            "TestSocketIndex": u.testSocketIndex,
            "ExecutionTime": u.execTime,
            "FixtureId": u.fixtureId,
            "ErrorCode": u.errorCode,
            "ErrorMessage": u.errorMessage,
            "BatchFailCount": u.batchFailCount,
            "BatchLoopIndex": u.batchLoopIndex,
            "ExecutionTimeFormat": u.execTimeFormat,
            "TestSocketIndexFormat": u.testSocketIndexFormat,
            "ErrorCodeFormat": u.errorCodeFormat,
            "BatchFailCountFormat": u.batchFailCountFormat,
            "BatchLoopIndexFormat": u.batchLoopIndexFormat,
        },
    )
    if u.comment is not None:
        _sub(uut, "Comment", text=u.comment)
    _sub(
        el,
        "Process",
        {"Code": r.processCode, "Name": r.processName, "CodeFormat": r.processCodeFormat},
    )
    for m in r.miscInfos or ():
        _sub(
            el,
            "MiscInfo",
            {
                "Description": m.description,
                "Typedef": m.typedef,
                "Numeric": m.numeric,
                "NumericFormat": m.numericFormat,
            },
            m.text,
        )
    for s in r.subUnits or ():
        _sub(
            el,
            "ReportUnitHierarchy",
            {
                "PartType": s.partType,
                "PN": s.pn,
                "SN": s.sn,
                "Rev": s.rev,
                "Position": s.position,
                "Idx": s.idx,
                "ParentIDX": s.parentIdx,
                "ReplacedIDX": s.replacedIdx,
            },
        )
    for a in r.assets or ():
        _sub(
            el,
            "Asset",
            {
                "AssetSN": a.assetSN,
                "UsageCount": a.usageCount,
                "UsageCountFormat": a.usageCountFormat,
            },
        )
    for data in r.additionalData or ():
        _additional(el, "AdditionalData", data)
    _step(el, r.root)


def _additional(parent: ET.Element, tag: str, data: AdditionalData) -> None:
    el = _sub(parent, tag, {"Name": data.name})
    for prop in data.props or ():
        _prop(el, prop)


def _prop(parent: ET.Element, p: AdditionalProp) -> None:
    el = _sub(
        parent,
        "Prop",
        {
            "Name": p.name,
            "Type": p.type,
            "Flags": p.flags,
            "Value": p.value,
            "NumFormat": p.numFormat,
            "Comment": p.comment,
        },
    )
    for child in p.props or ():
        _prop(el, child)
    if p.array is not None:
        array = _sub(el, "Array", {"Dimension": p.array.dimension, "Type": p.array.type})
        for index in p.array.indexes or ():
            indexes = None if index.indexes is None else ",".join(map(str, index.indexes))
            node = _sub(array, "Index", {"Text": index.text, "Indexes": indexes})
            if index.value is not None:
                _prop(node, index.value)


def _step(parent: ET.Element, s: Step) -> None:
    el = _sub(
        parent,
        "Step",
        {
            "Id": s.id,
            "Group": GROUP_WORDS[s.group],
            "Name": s.name,
            "StepType": s.stepType,
            "Status": WORDS.get(s.status or ""),
            "total_time": s.totTime,
            "Start": s.start,
            "StepErrorCode": s.errorCode,
            "StepErrorMessage": s.errorMessage,
            "StepErrorCodeFormat": s.errorCodeFormat,
            "StepCausedUUTFailure": s.causedUUTFailure,
            "StepCausedSequenceFailure": s.causedSeqFailure,
            "TSGuid": s.tsGuid,
            "total_timeFormat": s.totTimeFormat,
        },
    )
    if s.reportText is not None:
        _sub(el, "ReportText", text=s.reportText)
    if s.loop is not None:
        _sub(
            el,
            "Loop",
            {
                "num": s.loop.num,
                "passed": s.loop.passed,
                "failed": s.loop.failed,
                "ending_index": s.loop.endingIndex,
                "index": s.loop.idx,
            },
        )
    _payload(el, s)
    for data in s.additionalResults or ():
        _additional(el, "AdditionalResults", data)
    for child in s.steps or ():
        _step(el, child)


def _payload(el: ET.Element, s: Step) -> None:
    if s.seqCall is not None:
        _sub(
            el,
            "SequenceCall",
            {"Name": s.seqCall.name, "Version": s.seqCall.version, "Filepath": s.seqCall.path},
        )
    _measurements(el, s)
    if s.messagePopup is not None:
        p = s.messagePopup
        _sub(
            el,
            "MessagePopup",
            {"Response": p.response, "Button": p.button, "ButtonFormat": p.buttonFormat},
        )
    if s.callExe is not None:
        _sub(
            el,
            "Callexe",
            {"ExitCode": s.callExe.exitCode, "ExitCodeFormat": s.callExe.exitCodeFormat},
        )
    if s.chart is not None:
        _chart(el, s.chart)
    if s.attachment is not None:
        a = s.attachment
        _sub(el, "Attachment", {"Name": a.name, "ContentType": a.contentType}, a.data)


def _measurements(el: ET.Element, s: Step) -> None:
    for m in s.numericMeas or ():
        _sub(
            el,
            "NumericLimit",
            {
                "Name": m.name,
                "NumericValue": m.value,
                "Units": m.unit,
                "CompOperator": m.compOp,
                "LowLimit": m.lowLimit,
                "HighLimit": m.highLimit,
                "Status": MEAS_WORDS.get(m.status or ""),
                "NumericValueFormat": m.valueFormat,
                "LowLimitFormat": m.lowLimitFormat,
                "HighLimitFormat": m.highLimitFormat,
            },
        )
    for sm in s.stringMeas or ():
        _sub(
            el,
            "StringValue",
            {
                "Name": sm.name,
                "StringValue": sm.value,
                "StringLimit": sm.limit,
                "CompOperator": sm.compOp,
                "Status": MEAS_WORDS.get(sm.status or ""),
            },
        )
    for b in s.booleanMeas or ():
        _sub(el, "PassFail", {"Name": b.name, "Status": MEAS_WORDS[b.status]})


def _chart(el: ET.Element, c: Chart) -> None:
    chart = _sub(
        el,
        "Chart",
        {
            "ChartType": c.chartType,
            "Label": c.label,
            "XLabel": c.xLabel,
            "XUnit": c.xUnit,
            "YLabel": c.yLabel,
            "YUnit": c.yUnit,
        },
    )
    for series in c.series:
        node = _sub(chart, "Series", {"Name": series.name, "DataType": series.dataType})
        _sub(node, "ydata", text=series.ydata)
        if series.xdata is not None:
            _sub(node, "xdata", text=series.xdata)
