"""One measurement from what a converter gives: the limits and operator the schema wants
(inferred when left out, refused when they contradict), and a NaN reading kept as a note."""

from __future__ import annotations

import math

from wats_converter.errors import ReportValidationError
from wats_converter.report.compare import NUMERIC_OPS, SINGLE_LIMIT_OPS, CompOp, parse_comp_op
from wats_converter.report.parts import MeasStatus, NumericMeas
from wats_converter.report.readings import nan_note, nan_status
from wats_converter.report.validation import build

GivenLimits = tuple[str | CompOp | None, float | None, float | None]
"""`(comp, low, high)` as a converter gives them; `numeric_limits` makes them the schema's."""


def numeric_measurement(
    name: str | None,
    value: float | None,
    given: GivenLimits,
    unit: str | None,
    status: MeasStatus | None,
) -> tuple[NumericMeas, str | None]:
    """The measurement, and a note for the step when the reading was NaN."""
    where = f"measurement {name or ''}".strip()
    op, low, high = numeric_limits(*given, where)
    note = None
    if value is not None and math.isnan(value):
        value = None
        note = nan_note(name)
        status = nan_status(op, status)
    meas = build(
        NumericMeas,
        where,
        compOp=op,
        name=name,
        value=value,
        lowLimit=low,
        highLimit=high,
        unit=unit,
        status=status,
    )
    return meas, note


def numeric_limits(
    comp: str | CompOp | None, low: float | None, high: float | None, where: str = "measurement"
) -> tuple[CompOp, float | None, float | None]:
    """The operator and the (lowLimit, highLimit) pair the schema wants for these limits.

    Without `comp`: both limits GELE, low only GE, high only LE, none LOG. A single-limit
    operator keeps its one limit in `lowLimit`. Raises `ReportValidationError` for limits the
    operator cannot use, so a value with limits can never silently become a logged value.
    """
    if not comp:
        if low is not None and high is not None:
            return CompOp.GELE, low, high
        if low is not None:
            return CompOp.GE, low, None
        if high is not None:
            return CompOp.LE, high, None
        return CompOp.LOG, None, None
    op = parse_comp_op(comp)  # ValueError names an unknown operator
    given = [x for x in (low, high) if x is not None]
    if op is CompOp.LOG:
        if given:
            raise ReportValidationError(
                [
                    f"{where}: comp LOG cannot have limits (low={low}, high={high}); "
                    "leave comp out to infer GELE/GE/LE from the limits, or drop the limits"
                ]
            )
        return op, None, None
    if op in SINGLE_LIMIT_OPS:
        if len(given) != 1:
            raise ReportValidationError(
                [f"{where}: comp {op} takes exactly one limit (low or high), got {len(given)}"]
            )
        return op, given[0], None
    if op in NUMERIC_OPS and len(given) != 2:
        raise ReportValidationError(
            [
                f"{where}: comp {op} needs both low and high limits; for one limit use GE, LE, "
                "GT or LT"
            ]
        )
    return op, low, high


def string_op(comp: str | CompOp | None, limit: str | None, name: str | None) -> CompOp:
    if not comp:
        return CompOp.CASESENSIT if limit is not None else CompOp.LOG
    op = parse_comp_op(comp)
    if op is CompOp.LOG and limit is not None:
        raise ReportValidationError(
            [
                f"measurement {name or ''}: comp LOG cannot have a limit ({limit!r}); leave comp "
                "out to compare case-sensitively, or drop the limit"
            ]
        )
    return op
