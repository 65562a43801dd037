"""Numbers with SI prefixes (`100.20007K`, `45.1MEG`, `4.7u`) and the project's unit spelling.

Testers write values and limits with a prefix each; a report stores them in the base unit (ohms,
farads, volts, ...), so a value and its limits are always in one scale. The scaling is done in
decimal arithmetic and only then turned into a float, so `100.20007K` becomes `100200.07`, not
`100200.06999999999`.

`M` is the one ambiguous prefix: it means mega in most formats but milli in some (Teradyne GR228X
writes `M` for milli and `MEG` for mega). Each converter says which with `m_means`.

Unit spelling: units are written as their SI symbols (`V`, `A`, `Hz`, `F`, `H`, `s`), and ohm is
always `Ω` (U+03A9). `unit_symbol` maps the spellings testers use (`ohm`, `OHM`, `Ohms`, `R`, `O`)
to it.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from wats_converter.errors import ConversionError

OHM = "Ω"

_EXPONENTS = {
    "p": -12,
    "n": -9,
    "u": -6,
    "µ": -6,  # micro sign U+00B5
    "μ": -6,  # Greek mu U+03BC
    "m": -3,
    "k": 3,
    "K": 3,
    "MEG": 6,
    "meg": 6,
    "Meg": 6,
    "G": 9,
    "T": 12,
}
_SI = re.compile(
    r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(MEG|[Mm]eg|[pnuµμmkKMGT])?\s*$"
)
_UNIT_SPELLINGS = {
    "ohm": OHM,
    "ohms": OHM,
    "o": OHM,
    "r": OHM,
    OHM.lower(): OHM,
    "v": "V",
    "volt": "V",
    "volts": "V",
    "a": "A",
    "amp": "A",
    "amps": "A",
    "f": "F",
    "farad": "F",
    "h": "H",
    "henry": "H",
    "hz": "Hz",
    "s": "s",
    "sec": "s",
    "w": "W",
    "%": "%",
}
SIGNIFICANT_DIGITS = 12


def parse_si(
    text: str,
    *,
    m_means: Literal["mega", "milli"] = "mega",
    line: int | None = None,
    field: str | None = None,
) -> float:
    """The value of `text` (a number with an optional SI prefix) in the base unit.

    Prefixes: `p n u µ m k K M MEG G T`; `M` is mega or milli as `m_means` says, `m` is always
    milli. Raises `ConversionError` (with `line` and `field`) for anything else, NaN included:
    read NaN readings with `is_nan_reading` first.
    """
    match = _SI.match(text)
    if match is None:
        raise ConversionError(
            f"{text!r} is not a number with an optional SI prefix (like 4.7k, 10u, 45.1MEG)",
            line=line,
            field=field,
        )
    number, prefix = match.groups()
    exponent = 0
    if prefix == "M":
        exponent = 6 if m_means == "mega" else -3
    elif prefix:
        exponent = _EXPONENTS[prefix]
    try:
        exact = Decimal(number).scaleb(exponent)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal numbers
        raise ConversionError(f"{text!r} is not a number", line=line, field=field) from None
    return float(exact)


def is_nan_reading(text: str) -> bool:
    """Whether a tester wrote "not a number" (`NaN`, `-NAN`, `nan(ind)`, `#NaN`) as a reading.

    Such a reading becomes a measurement without a value (see the NaN policy in
    docs/converters/writing-a-converter.md); pass `math.nan` to the step builders.
    """
    cleaned = text.strip().lstrip("+-#").lower()
    return cleaned.startswith("nan")


def round_noise(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """`value` rounded to `digits` significant digits: removes float noise from arithmetic.

    `round_noise(100.0 * 1.05)` is `105.0`, not `105.00000000000001`.
    """
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def unit_symbol(text: str | None) -> str | None:
    """The project's spelling of a unit: `ohm`, `OHM`, `Ohms`, `O` and `R` become `Ω`.

    Units it does not know are returned stripped but otherwise as written; empty means none.
    """
    if text is None:
        return None
    cleaned = text.strip()
    if not cleaned:
        return None
    return _UNIT_SPELLINGS.get(cleaned.lower(), cleaned)
