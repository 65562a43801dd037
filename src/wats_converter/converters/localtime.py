"""Wall-clock times without an offset, made into instants without silent shifts.

Most testers write local time with no UTC offset. A converter takes a `timezone` setting (an
IANA name such as `Europe/Oslo`; empty means the station's own zone) and turns each naive time
into an aware one with `localize` or `parse_local_time`. Two readings cannot be trusted as they
stand, and neither is ever shifted silently:

- a time in a DST gap (02:30 on the night clocks go forward) never happened; it is read with the
  offset in force before the change, and `LocalTime.problem` says so;
- a time in a repeated hour (the night clocks go back) happened twice; it is read as the first
  occurrence, and `LocalTime.problem` says so.

`LocalTime.note_on(report)` records the problem on the report as a conversion note, so a test
engineer sees it in WATS; pass `strict=True` to refuse such a time instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wats_converter.errors import ConversionError


class _Notable(Protocol):
    def add_conversion_note(self, text: str) -> object: ...


@dataclass(frozen=True)
class LocalTime:
    """An aware time read from a wall-clock reading, and what was doubtful about it.

    Attributes:
        time: the aware time (its offset is the one in force at that moment in the zone).
        problem: `None`, or one sentence saying why the reading is doubtful (DST gap or
            repeated hour) and how it was read.
    """

    time: datetime
    problem: str | None = None

    def note_on(self, report: _Notable) -> datetime:
        """Record `problem` (if any) as a conversion note on `report`; return `time`."""
        if self.problem:
            report.add_conversion_note(self.problem)
        return self.time


def zone(name: str | None) -> tzinfo:
    """The time zone called `name` (IANA), or the station's own zone for `None` or `""`.

    Raises `ConversionError` (field `timezone`) for an unknown name.
    """
    if not name:
        return station_zone()
    return _named_zone(name)


@lru_cache(maxsize=64)
def _named_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConversionError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Oslo' or "
            "'America/New_York' (setting `timezone`)",
            field="timezone",
        ) from None


@lru_cache(maxsize=1)
def station_zone() -> tzinfo:
    """The zone this computer is set to, with its DST rules (not today's fixed offset)."""
    import tzlocal  # imported here: only converters reading naive times need it

    try:
        return tzlocal.get_localzone()
    except Exception:  # an unreadable zone configuration: UTC is the only honest fallback
        return UTC


def localize(
    naive: datetime,
    timezone: str | tzinfo | None,
    *,
    strict: bool = False,
    field: str = "start",
    line: int | None = None,
) -> LocalTime:
    """Make a naive wall-clock `naive` aware in `timezone` (see the module docstring).

    An already aware time is returned unchanged. With `strict=True` a time in a DST gap or a
    repeated hour raises `ConversionError` instead of being flagged.
    """
    if naive.tzinfo is not None:
        return LocalTime(naive)
    tz = timezone if isinstance(timezone, tzinfo) else zone(timezone)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    if before == after:
        return LocalTime(first)
    stamp = naive.isoformat(sep=" ", timespec="seconds")
    round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive:
        problem = f"{field} {stamp} is in a DST gap in {_name(tz)}; read as UTC{_offset(before)}"
    else:
        problem = (
            f"{field} {stamp} is in a repeated DST hour in {_name(tz)}; "
            f"read as the first, UTC{_offset(before)}"
        )
    if strict:
        raise ConversionError(problem, line=line, field=field)
    return LocalTime(first, problem)


def elapsed_s(start: datetime, end: datetime, timezone: str | tzinfo | None) -> float:
    """Seconds from `start` to `end`, naive or aware (naive ones read in `timezone`).

    Compared as instants: a run from 01:55 to 03:05 on the night clocks go forward took 10
    minutes, not 70 (Python subtracts two times of one zone by their wall clocks).
    """
    first = localize(start, timezone).time
    last = localize(end, timezone).time
    return last.timestamp() - first.timestamp()


def parse_local_time(
    text: str,
    formats: Sequence[str],
    timezone: str | tzinfo | None,
    *,
    strict: bool = False,
    line: int | None = None,
    field: str = "start",
) -> LocalTime:
    """Parse `text` with the first matching `strptime` format and `localize` it.

    Runs of white space count as one space, and month names match in any case, so
    `parse_local_time("12-MAR-19  14:05:00", ["%d-%b-%y %H:%M:%S"], "Europe/Oslo")` works.
    Day-first and month-first dates differ only by format: `%d/%m/%Y` (day first) or
    `%m/%d/%Y` (month first). A format with `%z` gives an aware time, returned unchanged.
    Raises `ConversionError` naming the formats that were tried.
    """
    cleaned = " ".join(text.split())
    for fmt in formats:
        try:
            naive = datetime.strptime(cleaned, " ".join(fmt.split()))
        except ValueError:
            continue
        return localize(naive, timezone, strict=strict, field=field, line=line)
    expected = " or ".join(repr(f) for f in formats)
    raise ConversionError(f"{text!r} is not a time of the form {expected}", line=line, field=field)


def _name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"
