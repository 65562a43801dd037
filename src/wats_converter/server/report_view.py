"""What the report page shows of a stored WSJF report: the header, the failures, the step tree
with one table per sequence, limits said in words and numbers rounded for reading.

Only the display rounds: the stored report (and its raw WSJF link) keeps every digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from wats_converter.server.charts import chart_svg

STATUS_WORDS = {
    "P": "Passed",
    "F": "Failed",
    "E": "Error",
    "T": "Terminated",
    "S": "Skipped",
    "D": "Done",
    "U": "Unknown",
}
FAILED = {"F", "E", "T"}
SIGNIFICANT_DIGITS = 6


def number(value: Any) -> str:
    """A reading as a person writes it: 6 significant digits, `50` not `50.0`, no float noise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


# how a comparison reads, with x the measured value and L, H the limits
NUMERIC_LIMITS = {
    "EQ": "x = {low}",
    "NE": "x ≠ {low}",
    "GT": "x > {low}",
    "GE": "x ≥ {low}",
    "LT": "x < {low}",
    "LE": "x ≤ {low}",
    "GTLT": "{low} < x < {high}",
    "GELE": "{low} ≤ x ≤ {high}",
    "GELT": "{low} ≤ x < {high}",
    "GTLE": "{low} < x ≤ {high}",
    "LTGT": "x < {low} or x > {high}",
    "LEGE": "x ≤ {low} or x ≥ {high}",
    "LEGT": "x ≤ {low} or x > {high}",
    "LTGE": "x < {low} or x ≥ {high}",
    "LOG": "logged, no limit",
}
STRING_LIMITS = {
    "EQ": "equals “{limit}”",
    "NE": "differs from “{limit}”",
    "CASESENSIT": "equals “{limit}” (case-sensitive)",
    "IGNORECASE": "equals “{limit}” (any case)",
    "LOG": "logged, no limit",
}


def numeric_limit(m: dict[str, Any]) -> str:
    op = str(m.get("compOp", "LOG")).upper()
    template = NUMERIC_LIMITS.get(op, op + " {low} {high}")
    low, high = (number(m.get(k)) or "?" for k in ("lowLimit", "highLimit"))  # "?": missing
    return template.format(low=low, high=high)


def string_limit(m: dict[str, Any]) -> str:
    op = str(m.get("compOp", "LOG")).upper()
    return STRING_LIMITS.get(op, op + " {limit}").format(limit=m.get("limit", ""))


@dataclass
class Row:
    """One measurement (or a step without one) in its sequence's table."""

    step_id: int | None
    step: str
    measurement: str
    value: str
    unit: str
    limit: str
    comp: str
    status: str
    failed: bool
    note: str = ""


@dataclass
class Sequence:
    """A sequence call: its own steps' rows in one table, its sub-sequences below it."""

    step_id: int | None
    name: str
    path: str
    status: str
    failed: bool
    rows: list[Row] = field(default_factory=list)
    charts: list[tuple[str, str]] = field(default_factory=list)
    children: list[Sequence] = field(default_factory=list)
    steps: int = 0


@dataclass(frozen=True)
class Failure:
    step_id: int | None
    path: str
    what: str


@dataclass(frozen=True)
class RepairUnit:
    """One unit of a repair report: what it is, its role, the failures found on it."""

    title: str
    role: str
    failures: list[dict[str, str]]


@dataclass(frozen=True)
class RepairView:
    """What a repair (UUR) report adds: who repaired what, the units and their failures."""

    header: list[tuple[str, str]]
    ref_uut: str
    units: list[RepairUnit]
    files: list[tuple[str, str]]


FAILURE_FIELDS = ("category", "code", "comRef", "artNumber", "refStepName", "comment")


@dataclass
class ReportView:
    header: list[tuple[str, str]]
    misc: list[tuple[str, str]]
    sub_units: list[dict[str, str]]
    assets: list[tuple[str, str]]
    root: Sequence
    failures: list[Failure]
    step_count: int
    result: str
    repair: RepairView | None = None


def build_view(report: dict[str, Any]) -> ReportView:
    uut = report.get("uut") or {}
    socket = uut.get("testSocketIndex")
    exec_time = uut.get("execTime")
    header = [
        ("Serial number", report.get("sn", "")),
        ("Part number", report.get("pn", "")),
        ("Revision", report.get("rev", "")),
        ("Result", STATUS_WORDS.get(report.get("result", ""), report.get("result", ""))),
        ("Process", _process(report)),
        ("Station", report.get("machineName", "")),
        ("Location", report.get("location", "")),
        ("Purpose", report.get("purpose", "")),
        ("Start", report.get("start", "")),
        ("Start (UTC)", report.get("startUTC", "")),
        ("Operator", uut.get("user", "")),
        ("Batch", uut.get("batchSN", "")),
        ("Fixture", uut.get("fixtureId", "")),
        ("Test socket", "" if socket in (None, -1) else number(socket)),
        ("Execution time", f"{number(exec_time)} s" if exec_time is not None else ""),
        ("Comment", uut.get("comment", "")),
        ("Error", _error(uut)),
        ("Report id", report.get("id", "")),
    ]
    misc = [
        (str(m.get("description", "")), str(m.get("text", "") or number(m.get("numeric"))))
        for m in report.get("miscInfos") or []
    ]
    sub_units = [
        {k: str(u.get(k, "")) for k in ("partType", "pn", "rev", "sn", "position")}
        for u in report.get("subUnits") or []
    ]
    assets = [
        (str(a.get("assetSN", "")), number(a.get("usageCount"))) for a in report.get("assets") or []
    ]
    failures: list[Failure] = []
    root_step = report.get("root") or {"name": "(no steps)", "status": "", "steps": []}
    root = _sequence(root_step, "", failures)
    return ReportView(
        header=[(k, str(v)) for k, v in header if v not in ("", None)],
        misc=misc,
        sub_units=sub_units,
        assets=assets,
        root=root,
        failures=failures,
        step_count=_count(root),
        result=str(report.get("result", "")),
        repair=_repair(report) if report.get("type") == "R" else None,
    )


def _repair(report: dict[str, Any]) -> RepairView:
    uur = report.get("uur") or {}
    operation = f"{uur.get('processCode', '')} {uur.get('processName', '') or ''}".strip()
    header = [
        ("Repaired by", str(uur.get("user", "") or "")),
        ("Comment", str(uur.get("comment", "") or "")),
        ("Test operation", operation),
        ("Finalized", str(uur.get("finalizeDate", "") or "")),
    ]
    units = []
    for unit in report.get("subUnits") or []:
        role = "repaired unit" if unit.get("idx") == 0 else f"unit {unit.get('idx', '')}"
        if unit.get("replacedIdx") is not None:
            role += f", replaced by unit {unit['replacedIdx']}"
        title = " ".join(str(unit.get(k) or "") for k in ("partType", "pn")).strip()
        units.append(
            RepairUnit(
                title=f"{title} SN {unit.get('sn', '')}",
                role=role,
                failures=[
                    {k: str(f.get(k, "") or "") for k in FAILURE_FIELDS}
                    for f in unit.get("failures") or []
                ],
            )
        )
    files = [
        (str(b.get("name", "")), str(b.get("contentType", "")))
        for b in report.get("binaryData") or []
    ]
    return RepairView(
        header=[(k, v) for k, v in header if v],
        ref_uut=str(uur.get("refUUT", "") or "").lower(),
        units=units,
        files=files,
    )


def _process(report: dict[str, Any]) -> str:
    code, name = report.get("processCode"), report.get("processName")
    return " ".join(str(p) for p in (code, f"({name})" if name else None) if p is not None)


def _error(uut: dict[str, Any]) -> str:
    code, message = uut.get("errorCode"), uut.get("errorMessage")
    if not code and not message:
        return ""
    return f"{code}: {message}" if code else str(message)


def _count(seq: Sequence) -> int:
    return seq.steps + sum(_count(c) for c in seq.children)


def _sequence(step: dict[str, Any], parent: str, failures: list[Failure]) -> Sequence:
    name = str(step.get("name", ""))
    path = f"{parent} / {name}" if parent else name
    status = str(step.get("status", ""))
    seq = Sequence(step.get("id"), name, path, status, status in FAILED)
    for child in step.get("steps") or []:
        if child.get("steps") or child.get("stepType") == "SequenceCall":
            sub = _sequence(child, path, failures)
            seq.children.append(sub)
            seq.failed = seq.failed or sub.failed
        else:
            seq.steps += 1
            _step_rows(child, path, seq, failures)
    return seq


def _measurement_row(m: dict[str, Any], value: str, unit: str, limit: str, comp: str) -> Row:
    """The row of measurement `m`; name and status are read alike for every kind of
    measurement, the step's id and name are `_step_rows`' to fill in."""
    status = str(m.get("status", ""))
    return Row(
        None,
        "",
        str(m.get("name") or ""),
        value,
        unit,
        limit,
        comp,
        status,
        m.get("status") in FAILED,
    )


def _step_rows(step: dict[str, Any], path: str, seq: Sequence, failures: list[Failure]) -> None:
    sid, name, status = step.get("id"), str(step.get("name", "")), str(step.get("status", ""))
    rows = [
        *(
            _measurement_row(
                m,
                number(m.get("value")),
                str(m.get("unit") or ""),
                numeric_limit(m),
                str(m.get("compOp", "")),
            )
            for m in step.get("numericMeas") or []
        ),
        *(
            _measurement_row(
                m,
                str(m.get("value", "")),
                "",
                string_limit(m),
                str(m.get("compOp", "")),
            )
            for m in step.get("stringMeas") or []
        ),
        *(_measurement_row(m, "", "", "pass/fail", "") for m in step.get("booleanMeas") or []),
    ]
    note = _note(step)
    if not rows:
        rows.append(Row(sid, name, "", "", "", "", "", status, status in FAILED, note))
    else:
        rows[0].note = note
    for i, row in enumerate(rows):
        row.step_id = sid
        row.step = "" if i else name  # the step's name once, on its first row
    seq.rows.extend(rows)
    chart = step.get("chart")
    if isinstance(chart, dict):
        seq.charts.append((name, chart_svg(chart)))
    if status in FAILED:
        bad = [r for r in rows if r.failed]
        what = "; ".join(
            " ".join(p for p in (r.measurement, r.value, r.unit) if p) + f" (limit {r.limit})"
            for r in bad
            if r.value
        )
        failures.append(Failure(sid, f"{path} / {name}", what or note or STATUS_WORDS[status]))


def _note(step: dict[str, Any]) -> str:
    parts = []
    if step.get("errorCode") or step.get("errorMessage"):
        parts.append(f"error {step.get('errorCode', '')}: {step.get('errorMessage', '')}".strip())
    if step.get("reportText"):
        parts.append(str(step["reportText"]))
    loop = step.get("loop")
    if isinstance(loop, dict):
        if "idx" in loop:
            parts.append(f"loop iteration {loop['idx']}")
        elif "num" in loop:
            parts.append(
                f"loop of {loop['num']}: {loop.get('passed', 0)} passed, "
                f"{loop.get('failed', 0)} failed"
            )
    exe = step.get("callExe")
    if isinstance(exe, dict) and "exitCode" in exe:
        parts.append(f"exit code {number(exe['exitCode'])}")
    popup = step.get("messagePopup")
    if isinstance(popup, dict) and popup.get("response"):
        parts.append(f"answer: {popup['response']}")
    return "; ".join(parts)
