"""The converter API: subclass `ConverterBase`, raise `SkipFile` / `RetryLater` when needed.

See docs/converters/writing-a-converter.md for a walk-through.
"""

from wats_converter.converters.api import (
    ConversionContext,
    ConverterBase,
    ConverterSettings,
    ConvertResult,
    RetryLater,
    SkipFile,
    StationDefaults,
)
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import (
    LocalTime,
    localize,
    parse_local_time,
    station_zone,
    zone,
)
from wats_converter.converters.text import decode_text, read_limited
from wats_converter.converters.units import (
    OHM,
    is_nan_reading,
    parse_si,
    round_noise,
    unit_symbol,
)
from wats_converter.converters.values import parse_number, parse_status, parse_time
from wats_converter.errors import ConversionError

__all__ = [
    "OHM",
    "ConversionContext",
    "ConversionError",
    "ConvertResult",
    "ConverterBase",
    "ConverterSettings",
    "LocalTime",
    "RetryLater",
    "SkipFile",
    "StationDefaults",
    "decode_text",
    "is_nan_reading",
    "localize",
    "parse_local_time",
    "parse_number",
    "parse_si",
    "parse_status",
    "parse_time",
    "read_limited",
    "round_noise",
    "station_zone",
    "unit_id",
    "unit_symbol",
    "zone",
]
