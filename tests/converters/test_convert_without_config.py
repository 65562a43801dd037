"""`wats-converter convert FILE` with no config picks the converter of each real sample.

Several formats share an extension with a built-in format that goes by the name alone (SPEA
logs are `.csv`, Spectrum logs `.txt`): a converter that recognises the file's content takes
it first, as in a watch folder they share.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli

DATA = Path(__file__).parent.parent / "data"
SAMPLES = [
    ("spea-3030/testdata_SN9871234012.csv", "SPEAConverter", 10),
    ("teradyne-spectrum/sample_ict_data.txt", "SpectrumConverter", 1),
    ("teradyne-gr228x/43420_BIO2.LOG", "GR228XConverter", 3),
    ("takaya/ATD/V682780_B_BOT-20230301082027.ATD", "TakayaConverter", 2),
    ("xjtag/Demonstration hardware--28_10_2019.xjlog", "XJTAGConverter", 6),
    ("atml/ATML 6.01 [2 31 52 PM][5 15 2019].xml", "ATMLConverter", 1),
    ("teststand-xml/TSWithWats.xml", "TestStandXMLConverter", 1),
    ("../../examples/csv/result.csv", "CSVConverter", 1),
    ("../../examples/wstf/spec_example.txt", "WSTFConverter", 1),
]
BY_CONTENT = {"SPEAConverter", "SpectrumConverter", "ATMLConverter", "TestStandXMLConverter"}


@pytest.mark.parametrize(("sample", "converter", "units"), SAMPLES, ids=[s[1] for s in SAMPLES])
def test_each_sample_gets_its_own_converter(sample: str, converter: str, units: int) -> None:
    done = cli("convert", str(DATA / sample))
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert len(output if isinstance(output, list) else [output]) == units
    if converter in BY_CONTENT:  # a choice by content is told on stderr, with its reason
        assert converter in done.stderr, done.stderr


def test_a_file_without_a_part_number_names_the_setting() -> None:
    done = cli("convert", str(DATA / "teststand-xml" / "TsWithoutWats.xml"))
    assert done.returncode == 1
    assert "no part number; set the converter's `part_number`" in done.stderr
