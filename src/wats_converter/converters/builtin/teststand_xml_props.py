"""TestStand XML's property trees (`Prop` elements) read as report values: a property by path,
array items, numbers and flags, readings, limits, and the additional results a step carries."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

from wats_converter.converters.teststand import (
    StepKind,
)
from wats_converter.converters.units import is_nan_reading
from wats_converter.converters.xmldoc import child, children, text
from wats_converter.errors import ConversionError
from wats_converter.report import AdditionalData, AdditionalProp, CompOp, Step
from wats_converter.report.compare import SINGLE_LIMIT_OPS
from wats_converter.report.parts import AdditionalArray, AdditionalArrayIndex, StepStatus

NAME_MAX = 100
# TEResult properties this converter maps to WSJF fields; any other is an additional result
STANDARD_PROPS = frozenset(
    {
        "Error",
        "Status",
        "ReportText",
        "Common",
        "TS",
        "Numeric",
        "PassFail",
        "String",
        "Limits",
        "Comp",
        "Units",
        "RawLimits",
        "Measurement",
        "InteractiveExeNum",
        "StepCausedSequenceFailure",
    }
)


def prop(element: ET.Element | None, *names: str) -> ET.Element | None:
    """The `Prop` named `names[0]` under `element`, then `names[1]` under it, ..."""
    for name in names:
        if element is None:
            return None
        element = next((p for p in element if p.tag == "Prop" and p.get("Name") == name), None)
    return element


def value(element: ET.Element | None, *names: str) -> str | None:
    """The `Value` text of the property at `names` (stripped; `None` when absent or empty)."""
    return text(child(prop(element, *names), "Value"))


def array_items(array: ET.Element | None) -> list[ET.Element]:
    """The elements of an array property: each `Value`'s `Prop` (object arrays) or the
    `Value` itself (arrays of numbers or strings)."""
    items = []
    for v in children(array, "Value"):
        inner = child(v, "Prop")
        items.append(inner if inner is not None else v)
    return items


def kind_from_data(te: ET.Element) -> StepKind | None:
    """What the result's own properties say it is (custom step types included)."""
    if prop(te, "Measurement") is not None:
        return "multi_numeric"
    if prop(te, "Numeric") is not None:
        return "numeric"
    if prop(te, "String") is not None:
        return "string"
    if prop(te, "PassFail") is not None:
        return "pass_fail"
    return None


def limits_for(op: CompOp, low: float | None, high: float | None) -> tuple[Any, Any]:
    """TestStand keeps both limits whatever the operator; WSJF wants only those it uses."""
    if op is CompOp.LOG:
        return None, None
    if op in SINGLE_LIMIT_OPS:  # TestStand compares one-sided tests (LT too) with Limits.Low
        return (low if low is not None else high), None
    return low, high


def meas_status(status: StepStatus) -> Any:
    return status if status in ("P", "F", "S") else None


def unique_name(name: str, step: Step) -> str:
    names = {m.name for m in step.numericMeas or ()}
    name = name[:NAME_MAX]
    return name if name not in names else f"{name[: NAME_MAX - 6]} [{len(names)}]"


def is_additional(p: ET.Element) -> bool:
    return p.get("Name") not in STANDARD_PROPS and p.get("Name") is not None and len(p) > 0


def additional_data(p: ET.Element) -> AdditionalData:
    return AdditionalData(
        name=p.get("Name", ""), props=[_additional_prop(c) for c in p if c.tag == "Prop"] or None
    )


def _additional_prop(p: ET.Element) -> AdditionalProp:
    """A TestStand property as WSJF's additional-data property (the same model)."""
    kind = p.get("Type")
    out = AdditionalProp(name=p.get("Name"), type=kind, flags=_flags(p.get("Flags")))
    if kind == "Obj":
        out.props = [_additional_prop(c) for c in p if c.tag == "Prop"] or None
    elif kind == "Array":
        items: list[AdditionalArrayIndex] = []
        for v in children(p, "Value"):
            inner = child(v, "Prop")
            item_prop = (
                _additional_prop(inner)
                if inner is not None
                else AdditionalProp(type=p.get("ElementType"), value=v.text or "")
            )
            items.append(AdditionalArrayIndex(text=v.get("ID", ""), value=item_prop))
        out.array = AdditionalArray(dimension=1, type=p.get("ElementType"), indexes=items)
    else:
        held = child(p, "Value")
        out.value = held.text if held is not None else None
    return out


def _flags(raw: str | None) -> int | None:
    try:
        return int(raw, 0) if raw else None
    except ValueError:
        return None


def numeric_reading(raw: str | None, where: str) -> float | None:
    if raw is None:
        return None
    if is_nan_reading(raw):
        return math.nan
    try:
        number = float(raw)
    except ValueError:
        raise ConversionError(f"{where}: reading {raw!r} is not a number", field=where) from None
    return number if math.isfinite(number) else math.nan  # an infinite reading has no value


def read_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_int(raw: str | None) -> int | None:
    number = read_float(raw)
    if number is None or number != int(number) or not -(2**31) <= number < 2**31:
        return None
    return int(number)


def read_short(raw: str | None) -> str | None:
    return raw[:NAME_MAX] if raw else None
