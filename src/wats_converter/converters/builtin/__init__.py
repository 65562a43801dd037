"""The converters shipped with wats-converter, by the class name the config uses."""

from wats_converter.converters.builtin.csv import CSVConverter
from wats_converter.converters.builtin.wsjf import WSJFConverter

BUILTIN_CONVERTERS = {
    "WSJFConverter": WSJFConverter,
    "CSVConverter": CSVConverter,
}

__all__ = ["BUILTIN_CONVERTERS", "CSVConverter", "WSJFConverter"]
