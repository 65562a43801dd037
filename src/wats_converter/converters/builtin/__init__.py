"""The converters shipped with wats-converter, by the class name the config uses."""

from wats_converter.converters.builtin.atml import ATMLConverter
from wats_converter.converters.builtin.csv import CSVConverter
from wats_converter.converters.builtin.teststand_xml import TestStandXMLConverter
from wats_converter.converters.builtin.wsjf import WSJFConverter
from wats_converter.converters.builtin.wstf import WSTFConverter
from wats_converter.converters.builtin.wsxf import WSXFConverter

BUILTIN_CONVERTERS = {
    "ATMLConverter": ATMLConverter,
    "WSJFConverter": WSJFConverter,
    "CSVConverter": CSVConverter,
    "TestStandXMLConverter": TestStandXMLConverter,
    "WSXFConverter": WSXFConverter,
    "WSTFConverter": WSTFConverter,
}

__all__ = [
    "BUILTIN_CONVERTERS",
    "ATMLConverter",
    "CSVConverter",
    "TestStandXMLConverter",
    "WSJFConverter",
    "WSTFConverter",
    "WSXFConverter",
]
