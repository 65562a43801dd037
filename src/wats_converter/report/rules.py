"""The structural rules of a step tree (spec §1.3, §1.7) and the passes that apply them.

`walk_steps(root)` is the one pass every report takes: it checks the common step (one
payload, simple measurements) with the rules of `check_step` written out, sends anything else
through `check_step` itself, and tells whether anything is left for `finalize` to complete, so
a finished report is not walked again. For a tree the fast path decoded (`report.fast`) it also
does, in the same pass, what pydantic does per object and msgspec cannot: the step `group`
default, operators read as `parse_comp_op` reads them, step start times checked as `Timestamp`
checks them (a ValueError means "not for the fast path"). On a model's `Step` tree those are
no-ops: the model did them when it was built. `tree_problems(root)` spells out every problem
with its path, for a tree the quick pass refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from wats_converter.report.compare import (
    DUAL_LIMIT_OPS,
    NUMERIC_OPS,
    STRING_OPS,
    CompOp,
    parse_comp_op,
)
from wats_converter.report.parts import Chart, NumericMeas, StringMeas, Timestamp
from wats_converter.report.step import Step

MAX_ATTACHMENT_BYTES = 100 * 1024  # the smaller of the two documented limits (spec §1.4.6)
MAX_CHART_POINTS = 10_000
PAYLOAD_KINDS = ("seqCall", "numericMeas", "stringMeas", "booleanMeas", "callExe", "messagePopup")

# how a decoded operator is read: the wire spellings at once, anything else by `parse_comp_op`
_OPS: dict[object, CompOp] = {**{op.value: op for op in CompOp}, msgspec.UNSET: CompOp.LOG}
_UNSET = msgspec.UNSET
_LOG = CompOp.LOG


class Walked(NamedTuple):
    """A tree without problems: its steps depth first, and whether every step and measurement
    already has what `finalize` completes (id, step type, status)."""

    steps: list[Step]
    complete: bool


def walk_steps(root: Step) -> Walked | None:
    """`Walked` if no step of the tree under `root` has a problem, else None (the paths of
    problems are only spelled out by `tree_problems`)."""
    if root.seqCall is None:
        return None
    steps: list[Step] = []
    seen_ids: set[int] = set()
    complete = True
    stack = [root]
    pop, append, seen, see = stack.pop, steps.append, seen_ids.__contains__, seen_ids.add
    while stack:
        step = pop()
        append(step)
        if step.group is _UNSET:  # type: ignore[comparison-overlap]  # decoded: not filled yet
            step.group = "M"
        start: object = step.start
        if start.__class__ is str:  # decoded: the text as read
            Timestamp.parse(start)
        seq = step.seqCall  # one name each, not a tuple: this runs for every step
        numeric = step.numericMeas
        strings = step.stringMeas
        boolean = step.booleanMeas
        children = step.steps
        sid = step.id
        settled = True
        for m in numeric or ():  # the common step's measurement: read here, not in a call
            op = m.compOp
            if op.__class__ is not CompOp:
                m.compOp = _OPS.get(op) or parse_comp_op(op)
            settled = settled and m.status is not None
        # `&`, not `and`: the operators are read whatever the statuses say
        settled = settled & (not strings or _read_ops(strings))
        m = numeric[0] if numeric else None  # type: ignore[assignment]
        simple = (
            strings is None
            and step.chart is None
            and step.attachment is None
            and (seq is not None or not children)
            and (seq is not None)
            + (numeric is not None)
            + (boolean is not None)
            + (step.callExe is not None)
            + (step.messagePopup is not None)
            <= 1
            and (
                (not boolean or len(boolean) == 1)
                if m is None
                else len(numeric) == 1  # type: ignore[arg-type]
                and (
                    (op := m.compOp) is _LOG
                    or (
                        op in NUMERIC_OPS
                        and m.lowLimit is not None
                        and (m.highLimit is not None or op not in DUAL_LIMIT_OPS)
                        and (m.value is not None or m.status is not None)
                    )
                )
            )
        )
        if not simple and check_step(step, ""):
            return None
        complete = (
            complete
            and settled
            and sid is not None
            and step.stepType is not None
            and step.status is not None
        )
        if sid is not None and (seen(sid) or see(sid)):  # `see` adds it and is falsy
            return None
        if children:
            stack += reversed(children)
    return Walked(steps, complete)


def _read_ops(measurements: Sequence[NumericMeas | StringMeas]) -> bool:
    """Make every operator a `CompOp` (a decoded one is text or unset); whether every
    measurement has its status."""
    statuses = True
    for m in measurements:
        op = m.compOp
        if op.__class__ is not CompOp:
            m.compOp = _OPS.get(op) or parse_comp_op(op)
        if m.status is None:
            statuses = False
    return statuses


def tree_problems(root: Step) -> list[str]:
    """Every problem of the tree under `root`, as `path: message` lines."""
    problems = []
    if root.seqCall is None:
        problems.append("root.seqCall: the root step must be a sequence call")
    seen_ids: set[int] = set()
    stack: list[tuple[Step, tuple[int, ...]]] = [(root, ())]
    while stack:
        step, where = stack.pop()
        problems += check_step(step, _path(where))
        if step.id is not None:
            if step.id in seen_ids:
                problems.append(f"{_path(where)}.id: step id {step.id} is used twice")
            seen_ids.add(step.id)
        if step.steps:
            stack += [(child, (*where, i)) for i, child in enumerate(step.steps)]
    return problems


def _path(where: tuple[int, ...]) -> str:
    return "root" + "".join(f".steps[{i}]" for i in where)


def check_step(step: Step, path: str) -> list[str]:
    """Every problem of one step (not of its children), under `path`."""
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
