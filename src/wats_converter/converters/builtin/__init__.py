"""The converters shipped with wats-converter, by the class name the config uses."""

from wats_converter.converters.builtin.csv import CSVConverter
from wats_converter.converters.builtin.gr228x import GR228XConverter
from wats_converter.converters.builtin.spea import SPEAConverter
from wats_converter.converters.builtin.spectrum import SpectrumConverter
from wats_converter.converters.builtin.wsjf import WSJFConverter
from wats_converter.converters.builtin.wstf import WSTFConverter
from wats_converter.converters.builtin.wsxf import WSXFConverter

BUILTIN_CONVERTERS = {
    "WSJFConverter": WSJFConverter,
    "CSVConverter": CSVConverter,
    "WSXFConverter": WSXFConverter,
    "WSTFConverter": WSTFConverter,
    "GR228XConverter": GR228XConverter,
    "SPEAConverter": SPEAConverter,
    "SpectrumConverter": SpectrumConverter,
}

__all__ = [
    "BUILTIN_CONVERTERS",
    "CSVConverter",
    "GR228XConverter",
    "SPEAConverter",
    "SpectrumConverter",
    "WSJFConverter",
    "WSTFConverter",
    "WSXFConverter",
]
