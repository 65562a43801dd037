"""A vendor XML file cut off while it is written is unfinished (retried), not broken."""

from __future__ import annotations

import pytest

from wats_converter.converters.xmldoc import UnfinishedXML, parse_xml
from wats_converter.errors import ConversionError

HEAD = b'<?xml version="1.0"?>\n<Reports>\n'


@pytest.mark.parametrize(
    "tail",
    [
        b"<Report>\n",
        b'<Report Type="UU',
        b'<Report\n Type="UUT"\n ',  # a start tag written over several lines
        b"<!-- a comment\nover lines",
    ],
)
def test_a_document_that_stops_anywhere_is_unfinished(tail: bytes) -> None:
    with pytest.raises(UnfinishedXML):
        parse_xml(HEAD + tail)


def test_a_document_broken_in_the_middle_is_not_well_formed() -> None:
    with pytest.raises(ConversionError, match="not well-formed") as caught:
        parse_xml(HEAD + b"<Report></Wrong>\n</Reports>\n")
    assert not isinstance(caught.value, UnfinishedXML)
