"""ATML's elements read as report values: times, datums and their types, limits and comparators,
a measurement's name and status, TestStand's additional results."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from wats_converter.converters.teststand import (
    StepKind,
    limit_pair,
    single_comparator,
    step_status,
    string_comparator,
)
from wats_converter.converters.units import is_nan_reading, unit_symbol
from wats_converter.converters.xmldoc import child, children, local, text
from wats_converter.errors import ConversionError
from wats_converter.report import AdditionalProp, CompOp
from wats_converter.report.parts import StepStatus

NAME_MAX = 100
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
NUMERIC_TYPES = ("double", "float", "integer", "int", "long", "short", "decimal", "number")
STEP_ELEMENTS = ("SessionAction", "Test", "TestGroup")


def step_elements(el: ET.Element) -> list[ET.Element]:
    return [c for c in el if local(c) in STEP_ELEMENTS]


def split_sequence(name: str) -> tuple[str, str]:
    """`C:\\...\\file.seq#CPU Test` -> (`C:\\...\\file.seq`, `CPU Test`)."""
    path, hash_, seq = name.rpartition("#")
    return (path, seq) if hash_ else ("", name)


def caller_name(el: ET.Element) -> str | None:
    """The sequence call step's own name: `callerName` (5.00, 6.01) or, in 2.02,
    `userDefinedType="SequenceCallStepName = 'CPU Test'"`."""
    caller = el.get("callerName")
    if caller:
        return caller
    defined = el.get("userDefinedType") or ""
    _, eq, rest = defined.partition("=")
    return rest.strip().strip("'\"") or None if eq else None


def read_time(value: str | None, where: str) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConversionError(
            f"{where}: {value!r} is not an ISO date and time", field=where
        ) from None


def attr_number(el: ET.Element | None) -> float | None:
    if el is None:
        return None
    value = el.get("value")
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def step_data(
    el: ET.Element, props: ET.Element | None
) -> tuple[str | None, int | None, str | None]:
    """Report text and error code/message from the step's `Data` collection (and TestStand's
    step properties)."""
    report_text = code = message = None
    for item in children(child(el, "Data", "Collection"), "Item"):
        name = item.get("name") or ""
        if name == "ReportText":
            report_text = datum_value(child(item, "Datum"))
        elif name in ("Error", "ErrorMessage", "ErrorCode", "Error.Msg", "Error.Code"):
            for sub in [item, *children(child(item, "Collection"), "Item")]:
                sub_name = sub.get("name") or ""
                value = datum_value(child(sub, "Datum"))
                if value and sub_name in ("Msg", "ErrorMessage", "Error.Msg"):
                    message = value
                elif value and sub_name in ("Code", "ErrorCode", "Error.Code"):
                    code = read_int(value)
    if props is not None:
        message = message or text(child(props, "ErrorMessage"))
        code_el = child(props, "ErrorCode")
        if code is None and code_el is not None:
            code = read_int(code_el.get("value") or text(code_el) or "")
    if code == 0 and not message:
        code = None
    return report_text, code, message


def additional_prop(item: ET.Element) -> AdditionalProp:
    """A `Data` item (a `Datum`, a `Collection` of items, or an `IndexedArray`) as a WSJF
    additional-data property."""
    datum, collection = child(item, "Datum"), child(item, "Collection")
    array = child(item, "IndexedArray")
    if collection is not None:
        return AdditionalProp(
            name=item.get("name"),
            type="Obj",
            props=[additional_prop(i) for i in children(collection, "Item")] or None,
        )
    if array is not None:
        indexes = [
            {"text": e.get("position", ""), "value": {"value": datum_value(e) or ""}}
            for e in children(array, "Element")
        ]
        kind = (array.get(XSI_TYPE) or "").rpartition(":")[2]
        return AdditionalProp(
            name=item.get("name"),
            type="Array",
            array={"dimension": 1, "type": kind or None, "indexes": indexes},
        )
    kind = ((datum.get(XSI_TYPE) or "") if datum is not None else "").rpartition(":")[2]
    return AdditionalProp(name=item.get("name"), type=kind or None, value=datum_value(datum))


def read_int(value: str) -> int | None:
    try:
        number = int(float(value))
    except ValueError:
        return None
    return number if -(2**31) <= number < 2**31 else None


def datum_value(datum: ET.Element | None) -> str | None:
    """A `Datum`'s value: its `value` attribute or its `Value` child's text."""
    if datum is None:
        return None
    if datum.get("value") is not None:
        return datum.get("value")
    value = child(datum, "Value")
    return value.text if value is not None and value.text is not None else None


def kind_from_data(results: list[ET.Element]) -> StepKind:
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


def read_number(value: str, where: str) -> float:
    if is_nan_reading(value):
        return math.nan
    try:
        number = float(value)
    except ValueError:
        raise ConversionError(f"{where}: {value!r} is not a number", field=where) from None
    return number if math.isfinite(number) else math.nan  # an infinite reading has no value


def numeric_datum(result: ET.Element, where: str) -> tuple[float | None, str | None]:
    datum = child(result, "TestData", "Datum")
    value = datum_value(datum)
    if datum is None or value is None:
        return None, None
    unit = unit_symbol(datum.get("nonStandardUnit") or datum.get("unit"))
    return read_number(value, f"{where} value"), unit


def limit_value(el: ET.Element | None, where: str) -> float:
    value = datum_value(child(el, "Datum"))
    if value is None:
        raise ConversionError(f"{where}: a limit without a value", field=where)
    number = read_number(value, where)
    if math.isnan(number):
        raise ConversionError(f"{where}: limit {value!r} is not a finite number", field=where)
    return number


def numeric_limits(result: ET.Element, where: str) -> tuple[CompOp, float | None, float | None]:
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
        low, high = limit_value(first, where), limit_value(second, where)
        return (op, high, low) if swapped else (op, low, high)
    single = child(limits, "SingleLimit")
    if single is None:
        single = child(limits, "Expected")
    if single is not None:
        op = single_comparator(single.get("comparator") or "EQ", field=f"{where} comparator")
        if op is CompOp.LOG:
            return op, None, None
        return op, limit_value(single, where), None
    return CompOp.LOG, None, None


def string_parts(result: ET.Element, where: str) -> tuple[str, CompOp, str | None]:
    value = datum_value(child(result, "TestData", "Datum")) or ""
    limits = child(result, "TestLimits", "Limits")
    expected = child(limits, "Expected")
    if expected is None:
        expected = child(limits, "SingleLimit")
    if expected is None:
        return value, CompOp.LOG, None
    op = string_comparator(expected.get("comparator") or "EQ", field=f"{where} comparator")
    limit = datum_value(child(expected, "Datum"))
    if op is CompOp.LOG:
        return value, op, None
    return value, op, limit if limit is not None else ""


def meas_status(result: ET.Element, step: StepStatus, *, single: bool) -> Any:
    """A measurement's own outcome when written, else (one measurement) the step's verdict."""
    outcome = child(result, "Outcome")
    if outcome is not None:
        status = step_status(outcome.get("value"), outcome.get("qualifier"))
        return status if status in ("P", "F", "S") else None
    if single and step in ("P", "F", "S"):
        return step
    return None


def meas_name(result: ET.Element, index: int, taken: list[Any] | None) -> str:
    name = (result.get("name") or result.get("ID") or f"Measurement {index}")[:NAME_MAX]
    names = {m.name for m in taken or ()}
    return name if name not in names else f"{name[: NAME_MAX - 6]} [{index}]"
