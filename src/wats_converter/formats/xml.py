"""Parsing an XML document safely: defusedxml, no DTDs, no entity expansion, no external
entities, so a hostile document fails fast with one clear `ConversionError`."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from wats_converter.errors import ConversionError


def parse_document(content: str | bytes, where: str = "") -> ET.Element:
    """The root element of the XML document `content`, as it is (its own declaration and BOM
    decide the encoding); `ConversionError` when it is not XML or is unsafe (DTD, entities).

    `where` (an archive member's name, say) starts every error message.
    """
    try:
        return parse_safely(content, where)
    except ET.ParseError as exc:
        raise not_well_formed(exc, where) from None


def parse_safely(content: str | bytes, where: str) -> ET.Element:
    """defusedxml's parse; a refusal becomes a `ConversionError`, a syntax error stays an
    `ET.ParseError` (for callers that tell an unfinished document from a broken one)."""
    try:
        root: ET.Element = SafeET.fromstring(
            content, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise ConversionError(
            f"{_prefix(where)}refused unsafe XML ({type(exc).__name__}): DTDs and entities are "
            "not allowed"
        ) from None
    return root


def not_well_formed(exc: ET.ParseError, where: str) -> ConversionError:
    line = exc.position[0] if exc.position else None
    return ConversionError(f"{_prefix(where)}not well-formed XML: {exc}", line=line)


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""
