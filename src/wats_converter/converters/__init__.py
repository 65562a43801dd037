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
from wats_converter.converters.archive import ArchiveLimits, check_member_name, read_members
from wats_converter.converters.components import ComponentClass, component_class
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
    elapsed_s,
    localize,
    parse_local_time,
    station_zone,
    zone,
)
from wats_converter.converters.tester import (
    GrowingLogSettings,
    HeaderSettings,
    keep_verdict,
    log_not_finished,
    steps_status,
)
from wats_converter.converters.text import decode_text, read_limited
from wats_converter.converters.units import (
    OHM,
    is_nan_reading,
    parse_si,
    round_noise,
    unit_symbol,
)
from wats_converter.converters.values import (
    parse_number,
    parse_reading,
    parse_status,
    parse_time,
)
from wats_converter.converters.xmldoc import parse_xml
from wats_converter.errors import ConversionError

__all__ = [
    "HEAD_BYTES",
    "OHM",
    "ArchiveLimits",
    "ComponentClass",
    "ConversionContext",
    "ConversionError",
    "ConvertResult",
    "ConverterBase",
    "ConverterSettings",
    "GrowingLogSettings",
    "HeaderSettings",
    "LocalTime",
    "Recognition",
    "RetryLater",
    "SkipFile",
    "StationDefaults",
    "XmlHead",
    "check_member_name",
    "component_class",
    "decode_text",
    "elapsed_s",
    "is_nan_reading",
    "keep_verdict",
    "localize",
    "log_not_finished",
    "parse_local_time",
    "parse_number",
    "parse_reading",
    "parse_si",
    "parse_status",
    "parse_time",
    "parse_xml",
    "read_head",
    "read_limited",
    "read_members",
    "recognize_xml",
    "round_noise",
    "station_zone",
    "steps_status",
    "unit_id",
    "unit_symbol",
    "xml_head",
    "zone",
]
