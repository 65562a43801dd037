"""Builder calls with limits can never produce a passing logged (LOG) step."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

import pytest

from wats_converter.errors import ReportValidationError
from wats_converter.report import CompOp, UUTReport, finalize
from wats_converter.report.compare import NUMERIC_OPS, SINGLE_LIMIT_OPS


def new_report() -> UUTReport:
    return UUTReport(
        pn="P",
        sn="S",
        id=uuid.uuid4(),
        processCode=10,
        machineName="ST-1",
        location="Line 1",
        purpose="Production",
        start=datetime(2025, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("low", "high", "op", "wire_low", "wire_high"),
    [
        (1.0, 2.0, CompOp.GELE, 1.0, 2.0),
        (1.0, None, CompOp.GE, 1.0, None),
        (None, 70.0, CompOp.LE, 70.0, None),
        (None, None, CompOp.LOG, None, None),
    ],
)
def test_limits_without_an_operator_infer_it(
    low: float | None,
    high: float | None,
    op: CompOp,
    wire_low: float | None,
    wire_high: float | None,
) -> None:
    report = new_report()
    step = report.root.add_numeric_step("X", 1.5, low, high)
    (meas,) = step.numericMeas or []
    assert (meas.compOp, meas.lowLimit, meas.highLimit) == (op, wire_low, wire_high)


def test_a_high_limit_only_reading_above_it_fails() -> None:
    """The trap of the issue: Temp 99 with high 70 used to be LOG and Passed."""
    report = new_report()
    report.root.add_numeric_step("Temp", 99.0, None, 70.0)
    assert finalize(report).result == "F"


VALUES = (-10.0, 0.0, 1.0, 1.5, 2.0, 50.0)
LIMITS = (None, 1.0, 2.0)


@pytest.mark.parametrize("comp", [None, *sorted(NUMERIC_OPS)])
@pytest.mark.parametrize("low", LIMITS)
@pytest.mark.parametrize("high", LIMITS)
def test_every_limit_form_either_refuses_or_checks_the_value(
    comp: CompOp | None, low: float | None, high: float | None
) -> None:
    for value in VALUES:
        report = new_report()
        try:
            step = report.root.add_numeric_step("X", value, low, high, comp=comp)
        except ReportValidationError as exc:
            assert f"comp {comp}" in str(exc), exc  # noqa: PT017 - names the operator
            continue
        (meas,) = step.numericMeas or []
        if low is not None or high is not None:
            assert meas.compOp is not CompOp.LOG, (comp, low, high)
        if meas.compOp in SINGLE_LIMIT_OPS:
            assert meas.highLimit is None and meas.lowLimit is not None
        finalize(report)


def test_log_with_limits_is_refused_with_what_to_write() -> None:
    with pytest.raises(ReportValidationError, match="comp LOG cannot have limits.*leave comp out"):
        new_report().root.add_numeric_step("X", 1.0, None, 5.0, comp="LOG")


def test_a_dual_operator_with_one_limit_is_refused() -> None:
    with pytest.raises(ReportValidationError, match="GELE needs both low and high"):
        new_report().root.add_numeric_step("X", 1.0, 1.0, comp="GELE")


def test_a_single_limit_operator_takes_its_limit_from_high_too() -> None:
    step = new_report().root.add_numeric_step("Leak", 3.0, None, 10.0, comp="LT")
    (meas,) = step.numericMeas or []
    assert (meas.compOp, meas.lowLimit, meas.highLimit) == (CompOp.LT, 10.0, None)


def test_a_string_log_with_a_limit_is_refused() -> None:
    with pytest.raises(ReportValidationError, match="comp LOG cannot have a limit"):
        new_report().root.add_string_step("FW", "1.2", "1.2", comp="LOG")


def test_a_nan_reading_keeps_no_value_fails_with_limits_and_says_why() -> None:
    report = new_report()
    step = report.root.add_numeric_step("R12", math.nan, 90.0, 110.0, unit="Ω")
    (meas,) = step.numericMeas or []
    finalize(report)
    assert (meas.value, meas.status, step.status, report.result) == (None, "F", "F", "F")
    assert "NaN" in (step.reportText or "")
    assert "NaN" not in report.to_wsjf().decode().replace("reading was NaN", "")


def test_a_logged_nan_reading_keeps_no_value_and_does_not_fail() -> None:
    report = new_report()
    step = report.root.add_numeric_step("Temp", math.nan, unit="degC")
    finalize(report)
    assert (step.numericMeas or [])[0].value is None and report.result == "P"


def test_status_is_the_step_status_and_meas_status_the_measurement_status() -> None:
    report = new_report()
    step = report.root.add_numeric_step("V", 9.0, 1.0, 2.0, status="D")
    pf = report.root.add_pass_fail_step("PF", True, status="D")
    finalize(report)
    assert (step.status, (step.numericMeas or [])[0].status, pf.status) == ("D", "F", "D")
