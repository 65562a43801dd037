"""The step tree of a report, with the fluent builder converters use (spec §1).

Build children with the `add_*` methods of a sequence step; `step_budget` bounds how many
steps one conversion may build.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel

from wats_converter.errors import FileTooLarge, ReportValidationError
from wats_converter.report.compare import (
    CompOp,
)
from wats_converter.report.measurements import numeric_measurement, string_op
from wats_converter.report.parts import (
    AdditionalData,
    Attachment,
    BooleanMeas,
    CallExe,
    Chart,
    DateTime,
    Finite,
    Int32,
    Loop,
    MeasStatus,
    MessagePopup,
    NumericMeas,
    SeqCall,
    StepGroup,
    StepStatus,
    Str100,
    Str200,
    StringMeas,
    WsjfModel,
)
from wats_converter.report.validation import build

ROOT_NAME = "MainSequence Callback"
M = TypeVar("M", bound=BaseModel)


class Step(WsjfModel):
    """A node of the step tree. A step with `seqCall` is a sequence and may hold `steps`.

    Build children with the `add_*` methods; each returns the new step. Statuses left as `None`
    are computed from limits when the report is finalized.
    """

    id: Int32 | None = None
    group: StepGroup = "M"
    stepType: str | None = None
    name: Str100
    status: StepStatus | None = None
    start: DateTime | None = None
    totTime: Finite | None = None
    totTimeFormat: str | None = None
    errorCode: Int32 | None = None
    errorCodeFormat: str | None = None
    errorMessage: Str200 | None = None
    reportText: str | None = None
    causedSeqFailure: bool | None = None
    causedUUTFailure: bool | None = None
    tsGuid: str | None = None
    interactiveExeNum: Int32 | None = None
    interactiveExeNumFormat: str | None = None
    loop: Loop | None = None
    seqCall: SeqCall | None = None
    steps: list[Step] | None = None
    numericMeas: list[NumericMeas] | None = None
    stringMeas: list[StringMeas] | None = None
    booleanMeas: list[BooleanMeas] | None = None
    callExe: CallExe | None = None
    messagePopup: MessagePopup | None = None
    chart: Chart | None = None
    attachment: Attachment | None = None
    additionalResults: list[AdditionalData] | None = None

    def add_sequence(
        self, name: str, *, path: str | None = None, version: str | None = None, **step: Any
    ) -> Step:
        """Add a sequence call (a step that holds steps) and return it."""
        seq = SeqCall(name=name, path=path, version=version)
        return self._add(name, step, seqCall=seq, steps=[])

    def add_numeric_step(  # noqa: PLR0913 - public API, pinned by tests/test_public_api.py
        self,
        name: str,
        value: float | None,
        low: float | None = None,
        high: float | None = None,
        *,
        comp: str | CompOp | None = None,
        unit: str | None = None,
        meas_status: MeasStatus | None = None,
        **step: Any,
    ) -> Step:
        """Add a numeric-limit step with one measurement and return the step.

        Limits and operator (see `NumericMeas`): without `comp` the operator follows from the
        limits given: both GELE, `low` only GE, `high` only LE, none LOG. Give `comp` for
        strict or other forms; a single-limit operator (EQ NE GT GE LT LE) takes its one limit
        from `low` or `high`, whichever is given, and stores it in `lowLimit` as the schema
        wants. Limits that contradict the operator (LOG with a limit, GELE with one) raise
        `ReportValidationError` saying what to write instead.

        `value=math.nan` (a tester's "not a number") is kept as a measurement without a value:
        its status is F when it has limits (it cannot have passed) and the step's `reportText`
        says the reading was NaN. Statuses left out are computed when the report is finalized;
        `meas_status` sets the measurement's (P F S) and `status=` the step's (P F D S E T).
        Other keywords (`group`, `totTime`, `reportText`, ...) are `Step` fields.
        """
        meas, note = numeric_measurement(None, value, (comp, low, high), unit, meas_status)
        return self._add(name, _noted(step, note), numericMeas=[meas])

    def add_numeric_measurement(  # noqa: PLR0913 - public API, pinned by tests/test_public_api.py
        self,
        name: str | None,
        value: float | None,
        low: float | None = None,
        high: float | None = None,
        *,
        comp: str | CompOp | None = None,
        unit: str | None = None,
        meas_status: MeasStatus | None = None,
    ) -> NumericMeas:
        """Add a named numeric measurement to this step (a multiple numeric step).

        Limits, operator and NaN are handled as in `add_numeric_step`.
        """
        meas, note = numeric_measurement(name, value, (comp, low, high), unit, meas_status)
        if note:
            self.reportText = f"{self.reportText}\n{note}" if self.reportText else note
        self.numericMeas = appended(self.numericMeas, meas)
        return meas

    def add_step(self, name: str, **step: Any) -> Step:
        """Add a step with no payload yet; give it named measurements with the
        `add_*_measurement` methods to make a multiple numeric, string or pass/fail step."""
        return self._add(name, step)

    def add_string_step(
        self,
        name: str,
        value: str,
        limit: str | None = None,
        *,
        comp: str | CompOp | None = None,
        meas_status: MeasStatus | None = None,
        **step: Any,
    ) -> Step:
        """Add a string-value step and return it.

        `comp` defaults to CASESENSIT with a `limit` and LOG without one; IGNORECASE compares
        case-insensitively. `meas_status` sets the measurement's status, `status=` the step's.
        """
        op = string_op(comp, limit, name)
        meas = build(StringMeas, name, compOp=op, value=value, limit=limit, status=meas_status)
        return self._add(name, step, stringMeas=[meas])

    def add_pass_fail_step(self, name: str, passed: bool, **step: Any) -> Step:
        """Add a pass/fail step whose single measurement is `passed`."""
        return self._add(name, step, booleanMeas=[BooleanMeas(status="P" if passed else "F")])

    def add_pass_fail_measurement(self, name: str | None, passed: bool) -> BooleanMeas:
        """Add a named pass/fail measurement to this step (a multiple pass/fail step)."""
        meas = build(BooleanMeas, f"measurement {name}", name=name, status="P" if passed else "F")
        self.booleanMeas = appended(self.booleanMeas, meas)
        return meas

    def add_string_measurement(
        self,
        name: str | None,
        value: str,
        limit: str | None = None,
        *,
        comp: str | CompOp | None = None,
        meas_status: MeasStatus | None = None,
    ) -> StringMeas:
        """Add a named string measurement to this step (a multiple string step)."""
        op = string_op(comp, limit, name)
        meas = build(
            StringMeas,
            f"measurement {name}",
            name=name,
            compOp=op,
            value=value,
            limit=limit,
            status=meas_status,
        )
        self.stringMeas = appended(self.stringMeas, meas)
        return meas

    def add_action_step(self, name: str, *, status: StepStatus = "P", **step: Any) -> Step:
        """Add a step without measurements (an action); it passes unless told otherwise."""
        return self._add(name, {**step, "status": status})

    def add_call_exe_step(
        self, name: str, exit_code: float, *, status: StepStatus = "P", **step: Any
    ) -> Step:
        """Add a Call Executable step with the program's exit code."""
        return self._add(name, {**step, "status": status}, callExe=CallExe(exitCode=exit_code))

    def add_message_popup_step(
        self, name: str, response: str, button: int = 1, *, status: StepStatus = "P", **step: Any
    ) -> Step:
        """Add a Message Popup step with the operator's response and button."""
        popup = MessagePopup(response=response, button=button)
        return self._add(name, {**step, "status": status}, messagePopup=popup)

    def set_chart(  # noqa: PLR0913 - public API, pinned by tests/test_public_api.py
        self,
        series: Iterable[tuple[str, Iterable[float], Iterable[float] | None]],
        *,
        label: str | None = None,
        x_label: str | None = None,
        x_unit: str | None = None,
        y_label: str | None = None,
        y_unit: str | None = None,
        chart_type: str = "Line",
    ) -> Chart:
        """Attach an XY chart; each series is `(name, y_values, x_values or None)`."""
        rows = [
            {"name": n, "ydata": _join(ys), "xdata": None if xs is None else _join(xs)}
            for n, ys, xs in series
        ]
        self.chart = build(
            Chart,
            f"{self.name}.chart",
            chartType=chart_type,
            label=label,
            xLabel=x_label,
            xUnit=x_unit,
            yLabel=y_label,
            yUnit=y_unit,
            series=rows,
        )
        return self.chart

    def attach(
        self, name: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        """Attach one file to this step (base64 on the wire)."""
        encoded = base64.b64encode(data).decode("ascii")
        self.attachment = build(
            Attachment, f"{self.name}.attachment", name=name, contentType=content_type, data=encoded
        )

    def walk(self) -> Iterable[Step]:
        """This step and every step below it, depth first."""
        yield self
        for child in self.steps or ():
            yield from child.walk()

    def _add(self, name: str, step: dict[str, Any], **payload: Any) -> Step:
        if self.seqCall is None:
            raise ReportValidationError(
                [f"step {self.name!r}: only a sequence (add_sequence) can hold steps"]
            )
        budget = _STEP_BUDGET.get()
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise FileTooLarge(
                    f"the file makes more than {budget[1]:,} steps (setting max_steps): too "
                    "big for one conversion; split the file or raise max_steps"
                )
        child = build(Step, f"step {name!r}", name=name, **step, **payload)
        self.steps = appended(self.steps, child)
        return child


# Steps a converter may still build in this conversion (None: no limit). A report's memory is
# about 5 KB a step, so this bounds the memory one file can take, whatever its size on disk.
_STEP_BUDGET: ContextVar[list[int] | None] = ContextVar("wats_step_budget", default=None)


@contextmanager
def step_budget(limit: int) -> Iterator[None]:
    """Within the block, building more than `limit` steps raises `FileTooLarge`.

    The service converts every file inside one (the converter setting `max_steps`), so a huge
    file fails early with a clear error instead of exhausting the station's memory.
    """
    token = _STEP_BUDGET.set([limit, limit])
    try:
        yield
    finally:
        _STEP_BUDGET.reset(token)


def new_root() -> Step:
    """The conventional root sequence (`MainSequence Callback`)."""
    return Step(name=ROOT_NAME, stepType="SequenceCall", seqCall=SeqCall(name=ROOT_NAME), steps=[])


def appended(items: list[M] | None, item: M) -> list[M]:
    """`items` with `item` added in place (building a 10,000-step report stays linear)."""
    if items is None:
        return [item]
    items.append(item)
    return items


def _noted(step: dict[str, Any], note: str | None) -> dict[str, Any]:
    if not note:
        return step
    text = step.get("reportText")
    return {**step, "reportText": f"{text}\n{note}" if text else note}


def _join(values: Iterable[float]) -> str:
    return ";".join(repr(float(v)) for v in values)
