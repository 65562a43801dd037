"""Parsing the small values every text format has: numbers, statuses, times.

Each parser raises `ConversionError` with the line and field, so a user can find the cell.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wats_converter.errors import ConversionError
from wats_converter.report.readings import is_nan_reading

STATUS_WORDS = {
    "p": "P",
    "pass": "P",
    "passed": "P",
    "ok": "P",
    "f": "F",
    "fail": "F",
    "failed": "F",
    "s": "S",
    "skip": "S",
    "skipped": "S",
    "e": "E",
    "error": "E",
    "t": "T",
    "terminated": "T",
    "aborted": "T",
    "d": "D",
    "done": "D",
}


def parse_number(text: str, decimal: str = ".", *, line: int, field: str) -> float:
    """A finite decimal number; `decimal` is '.' or ',' (then '.' and spaces group thousands)."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if decimal == ",":
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise ConversionError(f"{text!r} is not a number", line=line, field=field) from None
    if not math.isfinite(value):
        raise ConversionError(
            f"{text!r} is not a finite number (WSJF cannot carry it)", line=line, field=field
        )
    return value


def parse_reading(text: str, decimal: str = ".", *, line: int, field: str) -> float:
    """A measured value: like `parse_number`, but a NaN reading (`NaN`, `-NAN`, ...) is
    `math.nan`, which the step builders record as a measurement without a value (the NaN
    policy, docs/converters/wsjf.md). Limits are never NaN: read them with `parse_number`."""
    if is_nan_reading(text):
        return math.nan
    return parse_number(text, decimal, line=line, field=field)


def parse_status(text: str, *, line: int, field: str, allowed: str) -> str:
    """A status word or letter (Passed, F, skipped, ...) limited to the letters in `allowed`."""
    letter = STATUS_WORDS.get(text.strip().lower())
    if letter is None or letter not in allowed:
        words = ", ".join(w for w, code in STATUS_WORDS.items() if code in allowed and len(w) > 1)
        raise ConversionError(
            f"{text!r} is not a status here; use one of: {words}", line=line, field=field
        )
    return letter


def parse_time(text: str, zone: str | None, *, line: int, field: str = "start") -> datetime:
    """An ISO-8601 time; without an offset it is read in `zone` (default: this computer's)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConversionError(
            f"{text!r} is not an ISO-8601 time (like 2025-03-04T09:15:30+01:00)",
            line=line,
            field=field,
        ) from None
    if value.tzinfo is not None:
        return value
    if zone is None:
        return value.astimezone()
    try:
        return value.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConversionError(
            f"unknown time zone {zone!r} (setting `timezone`)", field="timezone"
        ) from None
