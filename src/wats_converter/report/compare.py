"""Comparison operators: which limits each uses and whether a value passes.

The table is the WATS/TestStand one (spec §1.4.1): single-limit operators keep their limit in
`lowLimit`, even LT and LE.
"""

from __future__ import annotations

from enum import StrEnum


class CompOp(StrEnum):
    """A comparison operator, spelled as on the wire."""

    LOG = "LOG"
    EQ = "EQ"
    NE = "NE"
    GT = "GT"
    GE = "GE"
    LT = "LT"
    LE = "LE"
    GTLT = "GTLT"
    GELE = "GELE"
    GELT = "GELT"
    GTLE = "GTLE"
    LTGT = "LTGT"
    LEGE = "LEGE"
    LEGT = "LEGT"
    LTGE = "LTGE"
    CASESENSIT = "CASESENSIT"
    IGNORECASE = "IGNORECASE"


_BY_NAME: dict[str, CompOp] = {**{op.value: op for op in CompOp}, "": CompOp.LOG}
NUMERIC_OPS = frozenset(CompOp) - {CompOp.CASESENSIT, CompOp.IGNORECASE}
STRING_OPS = frozenset({CompOp.LOG, CompOp.EQ, CompOp.NE, CompOp.CASESENSIT, CompOp.IGNORECASE})
SINGLE_LIMIT_OPS = frozenset({CompOp.EQ, CompOp.NE, CompOp.GT, CompOp.GE, CompOp.LT, CompOp.LE})
DUAL_LIMIT_OPS = NUMERIC_OPS - SINGLE_LIMIT_OPS - {CompOp.LOG}


def parse_comp_op(value: object) -> CompOp:
    """Read an operator the way WATS does: case-insensitive, missing means LOG."""
    if isinstance(value, str):
        # a dict lookup: this runs for every measurement of every report
        op = _BY_NAME.get(value) or _BY_NAME.get(value.strip().upper())
        if op is not None:
            return op
    elif value is None:
        return CompOp.LOG
    raise ValueError(f"{value!r} is not a comparison operator")


def numeric_passes(op: CompOp, x: float, low: float | None, high: float | None) -> bool:
    """Whether numeric value `x` passes `op` with limits `low` and `high`."""
    if op is CompOp.LOG:
        return True
    if low is None:
        raise ValueError(f"{op} needs lowLimit")
    if op in SINGLE_LIMIT_OPS:
        return _single(op, x, low)
    if high is None:
        raise ValueError(f"{op} needs lowLimit and highLimit")
    return _dual(op, x, low, high)


def _single(op: CompOp, x: float, limit: float) -> bool:
    match op:
        case CompOp.EQ:
            return x == limit
        case CompOp.NE:
            return x != limit
        case CompOp.GT:
            return x > limit
        case CompOp.GE:
            return x >= limit
        case CompOp.LT:
            return x < limit
        case _:  # LE
            return x <= limit


def _dual(op: CompOp, x: float, low: float, high: float) -> bool:
    match op:
        case CompOp.GTLT:
            return low < x < high
        case CompOp.GELE:
            return low <= x <= high
        case CompOp.GELT:
            return low <= x < high
        case CompOp.GTLE:
            return low < x <= high
        case CompOp.LTGT:
            return x < low or x > high
        case CompOp.LEGE:
            return x <= low or x >= high
        case CompOp.LEGT:
            return x <= low or x > high
        case _:  # LTGE
            return x < low or x >= high


def string_passes(op: CompOp, value: str, limit: str | None) -> bool:
    """Whether string `value` passes `op` against `limit` (EQ is CASESENSIT)."""
    if op is CompOp.LOG:
        return True
    if op not in STRING_OPS:
        raise ValueError(f"{op} is not a string comparison operator")
    if limit is None:
        raise ValueError(f"{op} needs a limit")
    if op is CompOp.IGNORECASE:
        return value.casefold() == limit.casefold()
    if op is CompOp.NE:
        return value != limit
    return value == limit
