"""The NaN policy: what a report says when a tester wrote NaN as a numeric reading.

TestStand writes `NaN` for a reading it could not take, SPEA ICT logs write `-NAN`, Virinco's
Python library writes the string `"NaN"`. WSJF has no NaN (JSON has none, and a fake number
would be a lie), so the policy, the same for every converter (docs/converters/wsjf.md,
"NaN readings"), is:

- the measurement keeps no `value`;
- its `status` is `F` when it has limits (a comparison with no reading cannot pass), unless
  the file says `S`: a skipped test has no reading, TestStand logs NaN for it. A LOG
  measurement judges nothing: its status is the file's, or `P` by the usual rule;
- the step's `reportText` gets the note "reading was NaN" (with the measurement's name in a
  multiple-measurement step), so the report shows why the value is missing.
"""

from __future__ import annotations

import math
from typing import Any

from wats_converter.report.compare import CompOp, parse_comp_op
from wats_converter.report.parts import MeasStatus

NAN_NOTE = "reading was NaN"


def is_nan_reading(value: object) -> bool:
    """Whether `value` is a NaN reading: the float NaN or a tester's spelling of it
    (`NaN`, `-NAN`, `+nan`, `nan(ind)`, `#NaN`).

    Converters pass such a reading to the step builders as `math.nan`.
    """
    if isinstance(value, float):
        return math.isnan(value)
    if not isinstance(value, str):
        return False
    text = value.strip().lstrip("+-#").lower()
    return text == "nan" or text.startswith("nan(")


def nan_status(comp_op: object, status: MeasStatus | None = None) -> MeasStatus | None:
    """The status of a measurement whose reading was NaN (see the module docstring)."""
    try:
        op = parse_comp_op(comp_op)
    except ValueError:
        return status  # the bad operator is reported by validation, naming the field
    if op is CompOp.LOG or status == "S":
        return status
    return "F"


def nan_note(measurement_name: str | None) -> str:
    """The reportText line that says a reading was NaN."""
    return f"{NAN_NOTE}: {measurement_name}" if measurement_name else NAN_NOTE


def apply_nan_policy(step: dict[str, Any]) -> None:
    """Apply the NaN policy in place to the numeric measurements of one raw (dict) step, as
    read from an input file; child steps are not visited."""
    notes = []
    for meas in step.get("numericMeas") or ():
        if isinstance(meas, dict) and is_nan_reading(meas.get("value")):
            del meas["value"]
            status = nan_status(meas.get("compOp"), meas.get("status"))
            if status is not None:
                meas["status"] = status
            notes.append(nan_note(meas.get("name") if isinstance(meas.get("name"), str) else None))
    if notes:
        text = step.get("reportText")
        step["reportText"] = "\n".join([text, *notes] if isinstance(text, str) and text else notes)


def apply_nan_policy_tree(step: dict[str, Any]) -> None:
    """`apply_nan_policy` for a raw step and every step below it."""
    stack = [step]
    while stack:
        current = stack.pop()
        apply_nan_policy(current)
        stack += [c for c in current.get("steps") or () if isinstance(c, dict)]
