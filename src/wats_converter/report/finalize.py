"""Complete a report and check the rules the server enforces (spec §1.3, §1.7).

`finalize(report)` checks the structure first (collecting every problem with its path), then
fills in what a converter may omit: step ids (depth first), step types (from the payload),
measurement and step statuses (from limits, propagated upwards), `result` and `startUTC`.
Anything a converter set explicitly is kept. A repair (UUR) report has no step tree and no
computed result: only its header is checked and `startUTC` filled in.
"""

from __future__ import annotations

import itertools
from datetime import UTC

from wats_converter.errors import ReportValidationError
from wats_converter.report.compare import numeric_passes, string_passes
from wats_converter.report.model import Step, UUTReport
from wats_converter.report.parts import NumericMeas, ReportResult, StringMeas
from wats_converter.report.rules import Walked, tree_problems

# Terminated > Error > Failed > Passed (spec §1.3 rule 5)
SEVERITY = {"T": 3, "E": 2, "F": 1}


def finalize(report: UUTReport) -> UUTReport:
    """Check `report`, then complete it in place; raise `ReportValidationError` on any problem."""
    problems, walked = _check(report)
    if problems:
        raise ReportValidationError(problems)
    if walked is not None:
        _complete_test(report, walked)
    # startUTC is emitted in UTC notation whatever offset it arrived with
    report.startUTC = (report.startUTC or report.start_utc()).astimezone(UTC)  # type: ignore[union-attr]
    return report


def _complete_test(report: UUTReport, walked: Walked) -> None:
    """Ids, step types, statuses and the result, in two passes over the steps (depth first);
    a tree that has them all (a report this project or TestStand wrote) only gets its result."""
    steps = walked.steps
    if report.result is None and walked.complete:
        report.result = _result(steps[0].status)
    if walked.complete:
        return
    taken = {s.id for s in steps if s.id is not None}
    counter = itertools.count(max(taken) + 1 if taken else 0)
    for step in steps:
        if step.id is None:
            step.id = next(counter)
        if step.stepType is None:
            step.stepType = infer_step_type(step)
    for step in reversed(steps):  # every step after the steps below it
        meas_statuses = _complete_measurements(step)
        if step.status is None:
            child_statuses = [c.status or "" for c in step.steps or ()]
            step.status = worst_status(child_statuses + meas_statuses, all_skipped=meas_statuses)  # type: ignore[assignment]
    if report.result is None:
        report.result = _result(steps[0].status)


def _result(root_status: str | None) -> ReportResult:
    return root_status if root_status in ("P", "F", "E", "T") else "P"  # type: ignore[return-value]


def check(report: UUTReport) -> list[str]:
    """Every structural problem of `report`, as `path: message` lines."""
    return _check(report)[0]


def _check(report: UUTReport) -> tuple[list[str], Walked | None]:
    """The problems, and for a test report whose tree is fine its steps depth first."""
    problems = [*_check_header(report)]
    if report.is_repair:
        if report.uur is None or not report.uur.model_dump(exclude_none=True):
            problems.append("uur: missing (a repair report needs its uur header)")
        return problems, None
    walked = report.walk_steps()
    if walked is not None:
        return problems, walked
    return problems + tree_problems(report.root), None  # worded on the model's tree


def _check_header(report: UUTReport) -> list[str]:
    problems = []
    for field in ("pn", "sn"):
        if not getattr(report, field).strip():
            problems.append(f"{field}: must not be blank")
    for field, hint in (
        ("machineName", "station.name"),
        ("location", "station.location"),
        ("purpose", "station.purpose"),
    ):
        if not getattr(report, field):
            problems.append(f"{field}: missing (set it in the file or `{hint}` in the config)")
    if report.id is None:
        problems.append("id: missing")
    if report.processCode is None:
        problems.append("processCode: missing (the WATS operation code, e.g. 10)")
    if report.start is None:
        problems.append("start: missing (the test's start time with its UTC offset)")
    elif report.startUTC is not None and report.startUTC != report.start:
        problems.append(
            f"startUTC: {report.startUTC.isoformat()} is not the same instant as start "
            f"{report.start.isoformat()}"
        )
    return problems


def infer_step_type(step: Step) -> str:
    """The WATS step type (it picks the UI icon) implied by a step's payload (spec §1.4.7)."""
    if step.seqCall is not None:
        return "SequenceCall"
    multiple = (
        "M"
        if max(len(step.numericMeas or ()), len(step.stringMeas or ()), len(step.booleanMeas or ()))
        > 1
        else ""
    )
    if step.numericMeas is not None:
        return "WATS_XYGMNLT" if step.chart is not None else f"ET_{multiple}NLT"
    if step.stringMeas is not None:
        return f"ET_{multiple}SVT"
    if step.booleanMeas is not None:
        return f"ET_{multiple}PFT"
    if step.callExe is not None:
        return "CallExecutable"
    if step.messagePopup is not None:
        return "MessagePopup"
    if step.attachment is not None:
        return "WATS_AttachFile"
    return "Action"


def _complete_measurements(step: Step) -> list[str]:
    for meas in step.numericMeas or ():
        meas.status = meas.status or _numeric_status(meas)  # type: ignore[assignment]
    for smeas in step.stringMeas or ():
        smeas.status = smeas.status or _string_status(smeas)  # type: ignore[assignment]
    return measurement_statuses(step)


def measurement_statuses(step: Step) -> list[str]:
    """The statuses of `step`'s measurements, as finalize gives them: a status the converter
    set, else P or F from the value and its limits (no value: P). The step is not changed."""
    statuses = [m.status or _numeric_status(m) for m in step.numericMeas or ()]
    statuses += [m.status or _string_status(m) for m in step.stringMeas or ()]
    statuses += [b.status for b in step.booleanMeas or ()]
    return statuses


def _numeric_status(meas: NumericMeas) -> str:
    passed = meas.value is None or numeric_passes(
        meas.compOp, meas.value, meas.lowLimit, meas.highLimit
    )
    return "P" if passed else "F"


def _string_status(meas: StringMeas) -> str:
    passed = meas.value is None or string_passes(meas.compOp, meas.value, meas.limit)
    return "P" if passed else "F"


def worst_status(statuses: list[str], *, all_skipped: list[str]) -> str:
    """The status a step gets from its children's and measurements' statuses: S when every
    measurement was skipped, else the worst of T, E, F, else P."""
    if all_skipped and all(s == "S" for s in all_skipped):
        return "S"
    worst = max(statuses, key=lambda s: SEVERITY.get(s, 0), default="P")
    return worst if worst in SEVERITY else "P"
