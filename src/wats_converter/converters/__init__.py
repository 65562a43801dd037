"""The converter API: subclass `ConverterBase`, raise `SkipFile` / `RetryLater` when needed.

Modules for particular families of formats: `wats_converter.converters.xmldoc` (safe XML,
elements by local name) and `wats_converter.converters.teststand` (NI TestStand's status words,
step types and comparators).

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
from wats_converter.converters.content import (
    HEAD_BYTES,
    Recognition,
    XmlHead,
    read_head,
    recognize_xml,
    xml_head,
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
from wats_converter.converters.xmldoc import parse_xml
from wats_converter.errors import ConversionError

__all__ = [
    "HEAD_BYTES",
    "OHM",
    "ConversionContext",
    "ConversionError",
    "ConvertResult",
    "ConverterBase",
    "ConverterSettings",
    "LocalTime",
    "Recognition",
    "RetryLater",
    "SkipFile",
    "StationDefaults",
    "XmlHead",
    "decode_text",
    "is_nan_reading",
    "localize",
    "parse_local_time",
    "parse_number",
    "parse_si",
    "parse_status",
    "parse_time",
    "parse_xml",
    "read_head",
    "read_limited",
    "recognize_xml",
    "round_noise",
    "station_zone",
    "unit_id",
    "unit_symbol",
    "xml_head",
    "zone",
]
