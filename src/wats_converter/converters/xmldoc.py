"""Reading a whole vendor XML document safely, and finding elements by local name.

XML is parsed with defusedxml: no DTDs, no entity expansion, no external entities, so a hostile
file fails fast with one clear error. Bytes are parsed as they are, so the document's own
encoding declaration (`iso-8859-1`, a BOM) decides, as XML says it must; a converter's
`encoding` setting other than `auto` overrides it. Vendor formats come in several namespace
generations (ATML 2.02, 5.00, 6.01), so the helpers match elements by local name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from wats_converter.converters.text import decode_text
from wats_converter.errors import ConversionError
from wats_converter.formats.xml import not_well_formed, parse_safely
from wats_converter.formats.xml import parse_document as parse_document

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# expat's "no element found", "unclosed token", "partial character": the text just stops
_ENDED_EARLY = {3, 5, 6}


class UnfinishedXML(ConversionError):
    """The document stops before its root element is closed, at the end of the file: a report
    still being written (TestStand's on-the-fly reporting appends as the test runs)."""


def parse_xml(raw: bytes, encoding: str = "auto", fallback: str = "cp1252") -> ET.Element:
    """The root element of the XML document `raw`; `ConversionError` when it is not XML or is
    unsafe (DTD, entities), `UnfinishedXML` when it stops before its root element is closed.

    With `encoding="auto"` the document's declaration and BOM decide; any other codec name
    decodes the bytes with it first (for files that declare the wrong encoding).
    """
    content: str | bytes = raw
    if encoding != "auto":
        # the declaration would contradict the codec the user chose: the user wins
        content = _DECLARATION.sub("", decode_text(raw, encoding, fallback), count=1)
    try:
        return parse_safely(content, "")
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        document = content.decode("latin-1") if isinstance(content, bytes) else content
        # expat raises these three only when the input ends (a token may span lines)
        if exc.code in _ENDED_EARLY and document.strip():
            raise UnfinishedXML(
                f"the document ends before its root element is closed ({exc})", line=line
            ) from None
        raise not_well_formed(exc, "") from None


_LOCAL_NAMES: dict[str, str] = {}
_MAX_LOCAL_NAMES = 10_000  # a format has a few hundred tags; a hostile file may have millions


def local(element: ET.Element) -> str:
    """The element's name without its namespace."""
    tag = element.tag
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        # comments and processing instructions have a function as tag: no name
        name = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        if len(_LOCAL_NAMES) < _MAX_LOCAL_NAMES and isinstance(tag, str):
            _LOCAL_NAMES[tag] = name
    return name


def child(element: ET.Element | None, *names: str) -> ET.Element | None:
    """The first child with local name `names[0]`, then its first child `names[1]`, ..."""
    for name in names:
        if element is None:
            return None
        element = next((c for c in element if local(c) == name), None)
    return element


def children(element: ET.Element | None, name: str) -> list[ET.Element]:
    """Every child of `element` with local name `name`."""
    return [] if element is None else [c for c in element if local(c) == name]


def text(element: ET.Element | None) -> str | None:
    """The element's text, stripped; `None` when there is no element or no text."""
    if element is None or element.text is None:
        return None
    return element.text.strip() or None
