"""The WSXF vocabulary: its namespace and code tables, the attributes the converter reads (and
into which report field, of which type), and `unread`, what a report holds beyond them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from typing import Any

from wats_converter.errors import ConversionError

Attributes = dict[str, tuple[str, Callable[[str], Any]]]
"""XML attribute -> (report field, how its text is read)."""

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
PROP_ATTRS: Attributes = {
    "Name": ("name", str),
    "Type": ("type", str),
    "Flags": ("flags", int),
    "Value": ("value", str),
    "NumFormat": ("numFormat", str),
    "Comment": ("comment", str),
}
STEP_ATTRS: Attributes = {
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
NUMERIC_ATTRS: Attributes = {
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


def read_additional(el: ET.Element, where: str) -> dict[str, Any]:
    """`<AdditionalData>` / `<AdditionalResults>`: the schema's AdditionalData, attribute names
    capitalised (`Name`; `Prop` children with `Name Type Flags Value NumFormat Comment`)."""
    data = read_attrs(el, {"Name": ("name", str)}, where)
    props = [_prop(p, f"{where}.Prop") for p in el.findall(f"{Q}Prop")]
    if props:
        data["props"] = props
    return data


def _prop(el: ET.Element, where: str) -> dict[str, Any]:
    prop = read_attrs(el, PROP_ATTRS, where)
    value = el.find(f"{Q}Value")  # a long or multi-line value may be element text instead
    if value is not None and "value" not in prop:
        prop["value"] = value.text or ""
    children = [_prop(p, f"{where}.Prop") for p in el.findall(f"{Q}Prop")]
    if children:
        prop["props"] = children
    array = el.find(f"{Q}Array")
    if array is not None:
        info = read_attrs(
            array, {"Dimension": ("dimension", int), "Type": ("type", str)}, f"{where}.Array"
        )
        indexes = []
        for i, index in enumerate(array.findall(f"{Q}Index")):
            item: dict[str, Any] = read_attrs(index, {"Text": ("text", str)}, f"{where}.Index[{i}]")
            if index.get("Indexes"):
                item["indexes"] = [
                    read_number(n, int, f"{where}.Index[{i}].Indexes")
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


def read_attrs(el: ET.Element, spec: Attributes, where: str) -> dict[str, Any]:
    """The attributes of `el` named in `spec`, as report fields of their types."""
    out = {}
    for attr, (key, kind) in spec.items():
        value = el.get(attr)
        if value == "" and not (kind is str and key in KEEPS_EMPTY):
            continue  # an empty attribute is an absent field, as in the server's WSJF export
        if value is not None:
            out[key] = (
                read_number(value, kind, f"{where}.{attr}") if kind in (int, float) else kind(value)
            )
    return out


# "" is a reading here, not an absent one
KEEPS_EMPTY = frozenset({"value", "limit"})


def read_number(value: str | None, kind: Callable[[str], Any], where: str) -> Any:
    """`kind(value)` (int or float); a `ConversionError` naming `where` when it is no number."""
    if value is None:
        return None
    try:
        return kind(value.strip())
    except ValueError:
        raise ConversionError(f"{where}: {value!r} is not a number", field=where) from None


def read_code(value: str | None, table: dict[str, str], where: str) -> str | None:
    """The code `table` gives the word `value` (any case); a `ConversionError` otherwise."""
    if value is None:
        return None
    code = table.get(value.strip().lower())
    if code is None:
        raise ConversionError(f"{where}: {value!r} is not one of {', '.join(table)}", field=where)
    return code


def trimmed(value: str | None) -> str | None:
    """A header string as WATS keeps it: without surrounding blanks."""
    return value.strip() if value is not None else None  # WATS trims header strings


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
