"""The converters shipped with wats-converter, by the class name the config uses."""

from wats_converter.converters.builtin.atml import ATMLConverter
from wats_converter.converters.builtin.csv import CSVConverter
from wats_converter.converters.builtin.gr228x import GR228XConverter
from wats_converter.converters.builtin.spea import SPEAConverter
from wats_converter.converters.builtin.spectrum import SpectrumConverter
from wats_converter.converters.builtin.takaya import TakayaConverter
from wats_converter.converters.builtin.teststand_xml import TestStandXMLConverter
from wats_converter.converters.builtin.wsjf import WSJFConverter
from wats_converter.converters.builtin.wstf import WSTFConverter
from wats_converter.converters.builtin.wsxf import WSXFConverter
from wats_converter.converters.builtin.xjtag import XJTAGConverter

BUILTIN_CONVERTERS = {
    "ATMLConverter": ATMLConverter,
    "WSJFConverter": WSJFConverter,
    "CSVConverter": CSVConverter,
    "TestStandXMLConverter": TestStandXMLConverter,
    "WSXFConverter": WSXFConverter,
    "WSTFConverter": WSTFConverter,
    "TakayaConverter": TakayaConverter,
    "XJTAGConverter": XJTAGConverter,
    "GR228XConverter": GR228XConverter,
    "SPEAConverter": SPEAConverter,
    "SpectrumConverter": SpectrumConverter,
}

__all__ = [
    "BUILTIN_CONVERTERS",
    "ATMLConverter",
    "CSVConverter",
    "GR228XConverter",
    "SPEAConverter",
    "SpectrumConverter",
    "TakayaConverter",
    "TestStandXMLConverter",
    "WSJFConverter",
    "WSTFConverter",
    "WSXFConverter",
    "XJTAGConverter",
]
