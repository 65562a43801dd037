"""Write reports as WSTF (the inverse of wstf.py) for what the text format can carry:
header, sub units, misc infos, sequences, numeric / string / pass-fail / action steps, charts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wats_converter.report import UUTReport
from wats_converter.report.model import Step

STATUS_WORDS = {
    "P": "Passed",
    "F": "Failed",
    "D": "Done",
    "S": "Skipped",
    "E": "Error",
    "T": "Terminated",
}


def render_wstf(reports: Iterable[UUTReport]) -> str:
    """The WSTF text of `reports` (tab-separated, one block per UUT). Times are written local."""
    return "".join(_report(r) for r in reports)


def _report(r: UUTReport) -> str:
    assert r.start is not None
    header = [
        ("SerialNumber", r.sn),
        ("PartNumber", r.pn),
        ("Revision", r.rev),
        ("OperationTypeCode", r.processCode),
        ("StationName", r.machineName),
        ("OperatorName", r.uut.user),
        ("StartDateTime", r.start.strftime("%Y-%m-%dT%H:%M:%S")),
        ("SoftwareName", r.root.seqCall.path if r.root.seqCall else None),
        ("SoftwareVersion", r.root.seqCall.version if r.root.seqCall else None),
        ("FixtureId", r.uut.fixtureId),
        ("BatchSerialNumber", r.uut.batchSN),
        ("TestSocketIndex", r.uut.testSocketIndex),
        ("Comment", r.uut.comment),
    ]
    lines = ["--Header-Start--", *(f"{k}\t{v}" for k, v in header if v not in (None, ""))]
    lines += [
        f"Subunit\t{s.partType or ''}\t{s.pn or ''}\t{s.sn or ''}\t{s.rev or ''}"
        for s in r.subUnits or ()
    ]
    lines += [f"{m.description}\t{m.text or ''}" for m in r.miscInfos or ()]
    lines += [
        "--Step-Data-Start--",
        "StepType\tStepName\tMeasureName\tValue\tLowLimit\tHighLimit\tCompOperator\tUnit"
        "\tStatus\tStepExecutionTime\tStepReportText\tStepErrorCode\tStepErrorMessage",
    ]
    for step in r.root.steps or ():
        lines += _step(step)
    lines += ["--Step-Data-End--", f"UUTStatus\t{STATUS_WORDS[r.result or 'P']}"]
    if r.uut.execTime is not None:
        lines.append(f"ExecutionTime\t{r.uut.execTime!r}")
    lines.append("--UUT-End--")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Columns:
    """The measurement columns of a step-data row, in file order."""

    measure: str = ""
    value: object = ""
    low: object = ""
    high: object = ""
    comp: str = ""
    unit: str = ""
    status: str = ""


_NO_MEASUREMENT = _Columns()


def _row(kind: str, name: str, c: _Columns = _NO_MEASUREMENT, step: Step | None = None) -> str:
    """One step-data row; the step's own columns go on its first row only (`step` given)."""
    cols = [kind, name, c.measure, _fmt(c.value), _fmt(c.low), _fmt(c.high), c.comp, c.unit]
    cols.append(c.status)
    if step is not None:
        cols += [
            _fmt(step.totTime),
            step.reportText or "",
            _fmt(step.errorCode),
            step.errorMessage or "",
        ]
    return "\t".join(cols).rstrip("\t")


def _fmt(value: object) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _step(step: Step) -> list[str]:
    status = STATUS_WORDS.get(step.status or "", "")
    if step.seqCall is not None:
        lines = [_row("SequenceCall", step.name, _Columns(status=status), step)]
        for child in step.steps or ():
            lines += _step(child)
        return [*lines, f"EndSequenceCall\t{step.name}"]
    lines = []
    multiple = len(step.numericMeas or step.stringMeas or step.booleanMeas or []) > 1
    for i, m in enumerate(step.numericMeas or ()):
        lines.append(
            _row(
                "NumericLimitTest",
                step.name,
                _Columns(
                    m.name or "" if multiple else "",
                    m.value,
                    m.lowLimit,
                    m.highLimit,
                    m.compOp,
                    m.unit or "",
                    STATUS_WORDS.get(m.status or "", ""),
                ),
                step if i == 0 else None,
            )
        )
    for i, s in enumerate(step.stringMeas or ()):
        lines.append(
            _row(
                "StringValueTest",
                step.name,
                _Columns(
                    s.name or "" if multiple else "",
                    s.value,
                    s.limit,
                    comp=s.compOp,
                    status=STATUS_WORDS.get(s.status or "", ""),
                ),
                step if i == 0 else None,
            )
        )
    for i, b in enumerate(step.booleanMeas or ()):
        lines.append(
            _row(
                "PassFailTest",
                step.name,
                _Columns(
                    b.name or "" if multiple else "",
                    "true" if b.status != "F" else "false",
                    status=STATUS_WORDS[b.status],
                ),
                step if i == 0 else None,
            )
        )
    if not lines:
        lines.append(_row("ActionStep", step.name, _Columns(status=status), step))
    if step.chart is not None:
        c = step.chart
        lines.append(
            "\t".join(
                [
                    "Chart",
                    c.chartType,
                    c.label or "",
                    c.yUnit or "",
                    c.yLabel or "",
                    c.xUnit or "",
                    c.xLabel or "",
                ]
            )
        )
        lines += [
            "\t".join(["Series", s.name or "", s.dataType, s.ydata, s.xdata or ""])
            for s in c.series
        ]
    return lines
