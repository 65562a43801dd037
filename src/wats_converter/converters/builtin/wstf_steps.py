"""The step-data rows of a WSTF unit (between `--Step-Data-Start--` and `--Step-Data-End--`)
made into its step tree: sequences nest, same-name rows share one step. Errors name the line."""

from __future__ import annotations

from typing import Any

from wats_converter.converters.values import (
    parse_number,
    parse_reading,
    parse_status,
)
from wats_converter.errors import ConversionError
from wats_converter.report.model import Step

STEP_TYPES = (
    "SequenceCall",
    "EndSequenceCall",
    "NumericLimitTest",
    "MultipleNumericLimitTest",
    "PassFailTest",
    "StringValueTest",
    "MultipleStringValueTest",
    "ActionStep",
    "Chart",
    "Series",
)
MAX_SERIES_POINTS = 10_000


class StepRows:
    """Turns step rows into the step tree: sequences nest, same-name rows share a step."""

    def __init__(self, root: Step, decimal: str) -> None:
        self.stack = [root]
        self.decimal = decimal
        self.last: Step | None = None
        self.last_kind = ""

    def add_rows(self, rows: list[tuple[int, list[str]]]) -> None:
        for line, cols in rows:
            cols = cols + [""] * (14 - len(cols))
            kind = cols[0].strip()
            if kind not in STEP_TYPES:
                raise ConversionError(
                    f"unknown step type {kind!r}; known: {', '.join(STEP_TYPES)}",
                    line=line,
                    field="StepType",
                )
            getattr(self, f"_{kind.lower()}")(cols, line)
        if len(self.stack) > 1:
            raise ConversionError(
                f"SequenceCall {self.stack[-1].name!r} is never ended (EndSequenceCall missing)",
                line=rows[-1][0] if rows else 0,
            )

    def _common(self, cols: list[str], line: int) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if cols[9].strip():
            extra["totTime"] = self._num(cols[9], line, "StepExecutionTime")
        if cols[10].strip():
            extra["reportText"] = cols[10]
        if cols[11].strip():
            extra["errorCode"] = int(self._num(cols[11], line, "StepErrorCode"))
        if cols[12].strip():
            extra["errorMessage"] = cols[12][:200]
        if cols[13].strip():
            extra["causedSeqFailure"] = cols[13].strip().lower() in ("true", "1")
        return extra

    def _status(self, cols: list[str], line: int, allowed: str) -> Any:  # a status letter
        return (
            parse_status(cols[8], line=line, field="Status", allowed=allowed)
            if cols[8].strip()
            else None
        )

    def _num(self, text: str, line: int, name: str) -> float:
        return parse_number(text, self.decimal, line=line, field=name)

    def _sequencecall(self, cols: list[str], line: int) -> None:
        status = self._status(cols, line, "PFDSET")
        seq = self.stack[-1].add_sequence(cols[1].strip(), **self._common(cols, line))
        seq.status = status
        self.stack.append(seq)
        self.last = None

    def _endsequencecall(self, cols: list[str], line: int) -> None:
        if len(self.stack) == 1:
            raise ConversionError("EndSequenceCall without a SequenceCall", line=line)
        name = cols[1].strip()
        if name and name != self.stack[-1].name:
            raise ConversionError(
                f"EndSequenceCall {name!r} closes {self.stack[-1].name!r}", line=line
            )
        self.stack.pop()
        self.last = None

    def _step_for(self, kind: str, cols: list[str], line: int) -> Step:
        """The step a measurement row belongs to: new, or the previous step of a multiple test."""
        name, measure = cols[1].strip(), cols[2].strip()
        if (
            measure
            and self.last is not None
            and self.last_kind == kind
            and name in ("", self.last.name)
        ):
            return self.last
        if not name:
            raise ConversionError("StepName is empty", line=line, field="StepName")
        step = self.stack[-1].add_step(name, **self._common(cols, line))
        self.last, self.last_kind = step, kind
        return step

    def _numericlimittest(self, cols: list[str], line: int) -> None:
        step = self._step_for("numeric", cols, line)
        value = (
            parse_reading(cols[3], self.decimal, line=line, field="Value")
            if cols[3].strip()
            else None
        )
        low = self._num(cols[4], line, "LowLimit") if cols[4].strip() else None
        high = self._num(cols[5], line, "HighLimit") if cols[5].strip() else None
        try:
            step.add_numeric_measurement(
                cols[2].strip() or None,
                value,
                low,
                high,
                comp=cols[6].strip() or None,
                unit=cols[7].strip() or None,
                meas_status=self._status(cols, line, "PFS"),
            )
        except ValueError as exc:
            raise ConversionError(str(exc), line=line, field="CompOperator") from None

    _multiplenumericlimittest = _numericlimittest

    def _stringvaluetest(self, cols: list[str], line: int) -> None:
        step = self._step_for("string", cols, line)
        try:
            step.add_string_measurement(
                cols[2].strip() or None,
                cols[3],
                cols[4] or None,
                comp=cols[6].strip() or None,
            )
        except ValueError as exc:
            raise ConversionError(str(exc), line=line, field="CompOperator") from None
        status = self._status(cols, line, "PFS")
        if status is not None:
            step.stringMeas[-1].status = status  # type: ignore[index]

    _multiplestringvaluetest = _stringvaluetest

    def _passfailtest(self, cols: list[str], line: int) -> None:
        step = self._step_for("passfail", cols, line)
        value = cols[3].strip().lower()
        if value not in ("", "true", "false", "1", "0"):
            raise ConversionError(
                f"pass/fail value {cols[3]!r} is not true/false/1/0", line=line, field="Value"
            )
        status = self._status(cols, line, "PFS")
        passed = value in ("", "true", "1")
        step.add_pass_fail_measurement(cols[2].strip() or None, passed)
        if status is not None:
            step.booleanMeas[-1].status = status  # type: ignore[index]

    def _actionstep(self, cols: list[str], line: int) -> None:
        status = self._status(cols, line, "PFDSET")
        step = self.stack[-1].add_action_step(cols[1].strip(), **self._common(cols, line))
        step.status = status or "P"
        self.last = None

    def _chart(self, cols: list[str], line: int) -> None:
        step = self._chart_step(line)
        step.set_chart(
            [],
            chart_type=cols[1].strip() or "Line",
            label=cols[2] or None,
            y_unit=cols[3] or None,
            y_label=cols[4] or None,
            x_unit=cols[5] or None,
            x_label=cols[6] or None,
        )

    def _series(self, cols: list[str], line: int) -> None:
        step = self._chart_step(line)
        if step.chart is None:
            raise ConversionError("Series before its Chart row", line=line)
        ys, xs = self._points(cols[3], line, "Y data"), self._points(cols[4], line, "X data")
        if ys is None or len(ys) > MAX_SERIES_POINTS:
            raise ConversionError(f"a series needs 1..{MAX_SERIES_POINTS} Y values", line=line)
        if xs is not None and len(xs) != len(ys):
            raise ConversionError(f"{len(xs)} X values but {len(ys)} Y values", line=line)
        if len(step.chart.series) >= 10:
            raise ConversionError("a chart has at most 10 series", line=line)
        chart = step.chart
        step.set_chart(
            [
                (s.name or "", _floats(s.ydata), None if s.xdata is None else _floats(s.xdata))
                for s in chart.series
            ]
            + [(cols[1].strip(), ys, xs)],
            chart_type=chart.chartType,
            label=chart.label,
            x_label=chart.xLabel,
            x_unit=chart.xUnit,
            y_label=chart.yLabel,
            y_unit=chart.yUnit,
        )

    def _chart_step(self, line: int) -> Step:
        if self.last is None:
            raise ConversionError(
                "a Chart or Series row must follow the step it belongs to", line=line
            )
        return self.last

    def _points(self, text: str, line: int, name: str) -> list[float] | None:
        if not text.strip():
            return None
        return [
            parse_number(p.replace(",", "."), ".", line=line, field=name)
            for p in text.split(";")
            if p.strip()
        ]


def _floats(data: str) -> list[float]:
    return [float(p) for p in data.split(";") if p.strip()]
