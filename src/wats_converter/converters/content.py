"""Recognising a file by its first bytes, so converters of one extension can share a folder.

An `.xml` file may be WSXF, ATML or TestStand XML. A converter that overrides
`ConverterBase.recognizes` looks at the head of a file (at most `HEAD_BYTES`, read once) and
says whether the file is its own and why; the service gives a file to the first converter of
its folder that accepts it. `xml_head` reads the root element and its first child from such
a head without parsing the whole document, and refuses hostile XML (DTDs, entities) exactly as
the converters do, so a look at a file is cheap and safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from wats_converter.converters.text import decode_text
from wats_converter.errors import ConversionError

HEAD_BYTES = 16 * 1024
# the head is fed in chunks, so a look at a file costs what its root element takes, not 16 KiB
FEED_BYTES = 1024
# enough children of the root to tell formats apart that share a root name
HEAD_CHILDREN = 1


@dataclass(frozen=True)
class Recognition:
    """A converter's answer about one file: `accepted`, and `reason` (shown in logs and by
    `wats-converter convert`), e.g. "root element <TSReport> is TestStand XML"."""

    accepted: bool
    reason: str


@dataclass(frozen=True)
class XmlHead:
    """The root element of an XML document and the first of its children, as read from a head.

    Attributes:
        namespace: the root element's namespace URI ("" for none).
        name: the root element's local name.
        attributes: the root element's attributes (names with `{namespace}` when namespaced).
        children: (namespace, local name) of the root's first child element (`HEAD_CHILDREN`),
            when the head reaches it.
    """

    namespace: str
    name: str
    attributes: dict[str, str]
    children: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """`<name xmlns="...">`, as a reason text."""
        return f'<{self.name} xmlns="{self.namespace}">' if self.namespace else f"<{self.name}>"


def read_head(path: Path, limit: int = HEAD_BYTES) -> bytes:
    """The first `limit` bytes of `path` (fewer for a shorter file)."""
    with path.open("rb") as f:
        return f.read(limit)


def head_lines(head: bytes, count: int = 10) -> list[str]:
    """The first `count` non-blank lines of a text file's head, stripped, for recognising a
    text format by its first lines (decoded as the converters decode files: a BOM, UTF-8,
    else cp1252, so a head cut inside a character still reads)."""
    text = decode_text(head)
    return [line.strip() for line in text.splitlines() if line.strip()][:count]


def split_tag(tag: str) -> tuple[str, str]:
    """`{namespace}local` -> (namespace, local); a name without namespace -> ("", name)."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


class _Enough(Exception):
    """Stops the parser once the root and its first child are seen."""


class _HeadTarget:
    """Records the root element and its first children as expat reports them."""

    def __init__(self) -> None:
        self.depth = 0
        self.root: tuple[str, dict[str, str]] | None = None
        self.children: list[tuple[str, str]] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.root is None:
            self.root = (_clark(tag), {_clark(k): v for k, v in attrib.items()})
        elif self.depth == 1:
            self.children.append(split_tag(_clark(tag)))
            if len(self.children) >= HEAD_CHILDREN:
                raise _Enough
        self.depth += 1

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self.depth == 0:
            raise _Enough  # the whole document fitted in the head


def _clark(name: str) -> str:
    """expat's `uri}local` as ElementTree's `{uri}local`."""
    return "{" + name if "}" in name else name


def _refuse_dtd(name: str, sysid: str | None, pubid: str | None, *_: object) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _refuse_entity(name: str, *_: object) -> None:
    raise EntitiesForbidden(name, None, None, None, None, None)


def _refuse_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def xml_head(head: bytes) -> XmlHead:
    """The root element (and first child) of the XML document that starts with `head`.

    `head` may stop anywhere (it is the start of a larger file). Raises `ConversionError` when
    it is not XML, or when it declares a DTD or entities (refused, never expanded: the same
    rules as defusedxml, on a bare expat parser, so a look costs microseconds).
    """
    target = _HeadTarget()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = target.start
    parser.EndElementHandler = target.end
    try:
        for at in range(0, len(head), FEED_BYTES):
            parser.Parse(head[at : at + FEED_BYTES], False)
    except _Enough:
        pass
    except DefusedXmlException as exc:
        raise ConversionError(
            f"refused unsafe XML ({type(exc).__name__}): DTDs and entities are not allowed"
        ) from None
    except expat.ExpatError as exc:
        if target.root is None:
            raise ConversionError(f"not well-formed XML: {exc}", line=exc.lineno) from None
    except (LookupError, ValueError) as exc:  # expat: an unknown or a multi-byte encoding
        raise ConversionError(f"cannot read the XML declaration's encoding: {exc}") from None
    if target.root is None:
        raise ConversionError("no XML root element in the first bytes of the file")
    namespace, name = split_tag(target.root[0])
    return XmlHead(namespace, name, target.root[1], tuple(target.children))


def recognize_xml(head: bytes, judge: Callable[[XmlHead], Recognition]) -> Recognition:
    """`judge(xml_head(head))`: the usual body of an XML converter's `recognizes`.

    A head that is not (safe) XML at all is accepted, with the reason: it belongs to no XML
    format, so the first XML converter of the folder takes it, and its conversion fails with
    that same clear error and puts the file in the error folder, as it would in a folder of its
    own (a broken file must not lie unnoticed in the watch folder). Well-formed XML of another
    format is refused, and stays for a converter that knows it.
    """
    try:
        root = xml_head(head)
    except ConversionError as exc:
        return Recognition(True, f"{exc}; converting it says why it failed")
    return judge(root)
