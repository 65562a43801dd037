"""Complete a report and check the rules the server enforces (spec §1.3, §1.7).

`finalize(report)` checks the structure first (collecting every problem with its path), then
fills in what a converter may omit: step ids (depth first), step types (from the payload),
measurement and step statuses (from limits, propagated upwards), `result` and `startUTC`.
Anything a converter set explicitly is kept. A repair (UUR) report has no step tree and no
computed result: only its header is checked and `startUTC` filled in.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from datetime import UTC

from wats_converter.errors import ReportValidationError
from wats_converter.report.compare import (
    DUAL_LIMIT_OPS,
    NUMERIC_OPS,
    STRING_OPS,
    CompOp,
    numeric_passes,
    string_passes,
)
from wats_converter.report.model import Step, UUTReport
from wats_converter.report.parts import Chart, NumericMeas, StringMeas

MAX_ATTACHMENT_BYTES = 100 * 1024  # the smaller of the two documented limits (spec §1.4.6)
MAX_CHART_POINTS = 10_000
PAYLOAD_KINDS = ("seqCall", "numericMeas", "stringMeas", "booleanMeas", "callExe", "messagePopup")
# Terminated > Error > Failed > Passed (spec §1.3 rule 5)
SEVERITY = {"T": 3, "E": 2, "F": 1}


def finalize(report: UUTReport) -> UUTReport:
    """Check `report`, then complete it in place; raise `ReportValidationError` on any problem."""
    problems, steps = _check(report)
    if problems:
        raise ReportValidationError(problems)
    if steps is not None:
        _complete_test(report, steps)
    # startUTC is emitted in UTC notation whatever offset it arrived with
    report.startUTC = (report.startUTC or report.start_utc()).astimezone(UTC)  # type: ignore[union-attr]
    return report


def _complete_test(report: UUTReport, steps: list[Step]) -> None:
    """Ids, step types, statuses and the result, in two passes over the steps (depth first)."""
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
    root_status = steps[0].status
    if report.result is None:
        report.result = root_status if root_status in ("P", "F", "E", "T") else "P"


def check(report: UUTReport) -> list[str]:
    """Every structural problem of `report`, as `path: message` lines."""
    return _check(report)[0]


def _check(report: UUTReport) -> tuple[list[str], list[Step] | None]:
    """The problems, and for a test report whose tree is fine its steps depth first."""
    problems = [*_check_header(report)]
    if report.is_repair:
        if report.uur is None or not report.uur.model_dump(exclude_none=True):
            problems.append("uur: missing (a repair report needs its uur header)")
        return problems, None
    tree = report.step_tree()
    steps = _fine_steps(tree)
    if steps is not None:
        return problems, steps
    if not isinstance(tree, Step):  # a tree read by the fast path: the model words the problems
        tree = report.root
    return problems + _tree_problems(tree), None


def _fine_steps(root: Step) -> list[Step] | None:
    """The steps depth first if none has a problem, else None. This runs for every report, so
    the common step (one payload, simple measurements) gets one cheap look, with the rules of
    `_check_step` written out; anything else goes through `_check_step` itself. The paths of
    problems are only spelled out by `_tree_problems`."""
    if root.seqCall is None:
        return None
    steps: list[Step] = []
    seen_ids: set[int] = set()
    stack = [root]
    while stack:
        step = stack.pop()
        steps.append(step)
        seq, numeric, boolean = step.seqCall, step.numericMeas, step.booleanMeas
        simple = (
            step.chart is None
            and step.attachment is None
            and step.stringMeas is None
            and (seq is not None or not step.steps)
            and (seq is not None)
            + (numeric is not None)
            + (boolean is not None)
            + (step.callExe is not None)
            + (step.messagePopup is not None)
            <= 1
        )
        if simple and numeric:
            m = numeric[0]
            op = m.compOp
            simple = len(numeric) == 1 and (
                op is CompOp.LOG
                or (
                    op in NUMERIC_OPS
                    and m.lowLimit is not None
                    and (m.highLimit is not None or op not in DUAL_LIMIT_OPS)
                    and (m.value is not None or m.status is not None)
                )
            )
        elif simple and boolean:
            simple = len(boolean) == 1
        if not simple and _check_step(step, ""):
            return None
        if step.id is not None:
            if step.id in seen_ids:
                return None
            seen_ids.add(step.id)
        if step.steps:
            stack += reversed(step.steps)
    return steps


def _tree_problems(root: Step) -> list[str]:
    problems = []
    if root.seqCall is None:
        problems.append("root.seqCall: the root step must be a sequence call")
    seen_ids: set[int] = set()
    stack: list[tuple[Step, tuple[int, ...]]] = [(root, ())]
    while stack:
        step, where = stack.pop()
        problems += _check_step(step, _path(where))
        if step.id is not None:
            if step.id in seen_ids:
                problems.append(f"{_path(where)}.id: step id {step.id} is used twice")
            seen_ids.add(step.id)
        if step.steps:
            stack += [(child, (*where, i)) for i, child in enumerate(step.steps)]
    return problems


def _path(where: tuple[int, ...]) -> str:
    return "root" + "".join(f".steps[{i}]" for i in where)


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


def _check_step(step: Step, path: str) -> list[str]:
    problems = _check_shape(step, path)
    for kind in ("numericMeas", "stringMeas", "booleanMeas"):
        measurements = getattr(step, kind) or []
        if len(measurements) > 1:
            problems += _check_names(measurements, f"{path}.{kind}")
    for i, meas in enumerate(step.numericMeas or ()):
        problems += _check_numeric(
            meas.compOp,
            meas.value,
            meas.lowLimit,
            meas.highLimit,
            meas.status,
            f"{path}.numericMeas[{i}]",
        )
    for i, smeas in enumerate(step.stringMeas or ()):
        problems += _check_string(smeas, f"{path}.stringMeas[{i}]")
    if step.chart is not None:
        problems += _check_chart(step.chart, f"{path}.chart")
    if step.attachment is not None:
        problems += _check_attachment(step.attachment.data, f"{path}.attachment.data")
    return problems


def _check_shape(step: Step, path: str) -> list[str]:
    """What the step holds: one kind of payload, children only under a sequence call."""
    problems = []
    kinds = [k for k in PAYLOAD_KINDS if getattr(step, k) is not None]
    if len(kinds) > 1:
        problems.append(f"{path}: a step carries one kind of payload, found {' and '.join(kinds)}")
    if step.steps and step.seqCall is None:
        problems.append(f"{path}.steps: only a step with seqCall may have child steps")
    if step.chart is not None and step.attachment is not None:
        problems.append(f"{path}: a step may have a chart or an attachment, not both")
    return problems


def _check_string(smeas: StringMeas, where: str) -> list[str]:
    if smeas.compOp not in STRING_OPS:
        return [f"{where}.compOp: {smeas.compOp} is not a string comparison operator"]
    problems = []
    if smeas.compOp is not CompOp.LOG and smeas.status is None:
        if smeas.value is None:
            problems.append(f"{where}.value: missing (needed to compute the status)")
        if smeas.limit is None:
            problems.append(f"{where}.limit: {smeas.compOp} needs a limit")
    return problems


def _check_names(measurements: list[object], path: str) -> list[str]:
    names = [getattr(m, "name", None) for m in measurements]
    problems = [
        f"{path}[{i}].name: each measurement of a multiple test needs a name"
        for i, n in enumerate(names)
        if not n
    ]
    duplicates = {n for n in names if n and names.count(n) > 1}
    problems += [f"{path}: measurement name {n!r} is used twice" for n in sorted(duplicates)]
    return problems


def _check_numeric(
    op: CompOp,
    value: float | None,
    low: float | None,
    high: float | None,
    status: str | None,
    where: str,
) -> list[str]:
    if op not in NUMERIC_OPS:
        return [f"{where}.compOp: {op} is not a numeric comparison operator"]
    problems = []
    if op is not CompOp.LOG and low is None:
        problems.append(f"{where}.lowLimit: {op} needs lowLimit")
    if op in DUAL_LIMIT_OPS and high is None:
        problems.append(f"{where}.highLimit: {op} needs highLimit")
    if op is not CompOp.LOG and value is None and status is None:
        problems.append(f"{where}.value: missing (needed to compute the status)")
    return problems


def _check_chart(chart: Chart, path: str) -> list[str]:
    problems: list[str] = []
    for i, series in enumerate(chart.series or ()):  # a decoded chart may have none
        where = f"{path}.series[{i}]"
        y = _numbers(series.ydata, f"{where}.ydata", problems)
        if len(y) > MAX_CHART_POINTS:
            problems.append(f"{where}.ydata: {len(y)} points, at most {MAX_CHART_POINTS}")
        if series.xdata is not None:
            x = _numbers(series.xdata, f"{where}.xdata", problems)
            if len(x) != len(y):
                problems.append(f"{where}: xdata has {len(x)} points but ydata has {len(y)}")
    return problems


def _numbers(data: str, where: str, problems: list[str]) -> list[float]:
    texts = [t for t in data.split(";") if t.strip()]
    try:  # the common case in one go; the loop below says which point is wrong
        return list(map(float, texts))
    except ValueError:
        pass
    values = []
    for i, text in enumerate(t for t in data.split(";") if t.strip()):
        try:
            values.append(float(text))
        except ValueError:
            problems.append(f"{where}: point {i} {text!r} is not a number (use '.' decimals)")
    return values


def _check_attachment(data: str, where: str) -> list[str]:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return [f"{where}: not valid base64"]
    if len(raw) > MAX_ATTACHMENT_BYTES:
        return [f"{where}: {len(raw)} bytes, at most {MAX_ATTACHMENT_BYTES} per step"]
    return []


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
