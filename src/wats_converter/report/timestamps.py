"""The date-times of a WSJF report: read from text with their UTC offset, written back
exactly as read (100 ns digits included), or canonically when a converter built them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import PlainValidator, SerializerFunctionWrapHandler, TypeAdapter, WrapSerializer

_ISO = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(?P<frac>\d{1,7}))?(?:Z|[+-]\d\d:\d\d)", re.ASCII
)


class Timestamp(datetime):
    """An aware instant read from WSJF text, which it remembers and is serialised as.

    WATS writes 100 ns ticks (`2024-01-05T22:01:41.4707353+01:00`) and Python keeps
    microseconds; a `Timestamp` is a normal aware `datetime` for converters (comparisons,
    arithmetic, `astimezone`) that also keeps `text` and `ticks` (the fraction of a second in
    100 ns units), so a report read from a file is written back byte for byte.
    """

    text: str

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Read ISO 8601 text with a UTC offset; raise ValueError otherwise."""
        stamp = cls._read(text)
        if stamp is None:
            raise ValueError(
                f"{text!r} is not an ISO 8601 date-time with UTC offset "
                "(e.g. 2025-03-04T09:15:30.25+01:00)"
            )
        return stamp

    @classmethod
    def _read(cls, text: str) -> Timestamp | None:
        # this runs for every step start of every report read: one regex, one C parse
        if _ISO.fullmatch(text) is None:
            return None
        stamp = cls.fromisoformat(text)  # keeps microseconds; the text keeps the 7th digit
        stamp.text = text
        return stamp

    @property
    def ticks(self) -> int:
        """The fraction of a second in 100 ns units, as written (0..9,999,999)."""
        match = _ISO.fullmatch(self.text)
        frac = (match.group("frac") if match else None) or ""
        return int(frac.ljust(7, "0")) if frac else 0

    def astimezone(self, tz: Any = None) -> Timestamp:
        """The same instant in `tz`, keeping the 100 ns digit (UTC is written with `Z`)."""
        plain = datetime.astimezone(self, tz)
        if plain.utcoffset() == self.utcoffset():
            return self
        digits = len(_ISO.fullmatch(self.text).group("frac") or "")  # type: ignore[union-attr]
        text = plain.replace(microsecond=0, tzinfo=None).isoformat()
        if digits:
            text += "." + str(self.ticks).rjust(7, "0")[:digits]
        minutes = int((plain.utcoffset() or timedelta(0)).total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}" if minutes else "Z"
        stamp = Timestamp(*plain.timetuple()[:6], plain.microsecond, tzinfo=plain.tzinfo)
        stamp.text = text
        return stamp

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (Timestamp.parse, (self.text,))


def _read_time(value: object) -> datetime:
    if isinstance(value, str):
        stamp = Timestamp._read(value)
        if stamp is not None:
            return stamp
        try:  # other ISO spellings are read, and written back in the canonical form
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an ISO 8601 date-time (e.g. 2025-03-04T09:15:30.25+01:00)"
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("Input should have timezone info")
        return value
    raise ValueError(f"expected an ISO 8601 date-time string, got {type(value).__name__}")


def _write_time(value: datetime, handler: SerializerFunctionWrapHandler) -> Any:
    return value.text if isinstance(value, Timestamp) else handler(value)


DateTime = Annotated[
    datetime, PlainValidator(_read_time), WrapSerializer(_write_time, when_used="json")
]
"""An aware date-time; text read from a file is written back exactly (see `Timestamp`)."""


_TIME_ADAPTER: TypeAdapter[datetime] = TypeAdapter(DateTime)


def wsjf_time(value: datetime) -> str:
    """`value` as WSJF writes it (a read `Timestamp` as read, a built datetime canonically)."""
    return str(_TIME_ADAPTER.dump_python(value, mode="json"))
