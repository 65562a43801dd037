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
from wats_converter.converters.text import decode_text, read_limited
from wats_converter.converters.values import parse_number, parse_status, parse_time
from wats_converter.errors import ConversionError

__all__ = [
    "ConversionContext",
    "ConversionError",
    "ConvertResult",
    "ConverterBase",
    "ConverterSettings",
    "RetryLater",
    "SkipFile",
    "StationDefaults",
    "decode_text",
    "parse_number",
    "parse_status",
    "parse_time",
    "read_limited",
]
