"""WSXFConverter: WATS Standard XML Format files (spec §3.2), parsed safely.

The format is read by `wats_converter.formats.wsxf` (the local server reads REST WSXF bodies
with it too); this converter recognises the files and bounds their size by
`max_file_size_bytes`, so a hostile file fails fast with a clear error.
"""

from __future__ import annotations

from pathlib import Path

from wats_converter.converters.api import ConverterBase, ConverterSettings
from wats_converter.converters.content import Recognition, XmlHead, recognize_xml
from wats_converter.formats.wsxf import parse_wsxf
from wats_converter.formats.wsxf_vocabulary import NS
from wats_converter.report import UUTReport


class WSXFConverter(ConverterBase):
    """Reads `*.xml` files in the WSXF namespace; one file may hold several reports."""

    name = "WSXFConverter"
    cpu_heavy = True
    supported_extensions = (".xml",)
    Settings = ConverterSettings

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        return parse_wsxf(content, self.context.logger)

    def recognizes(self, head: bytes, file_path: Path) -> Recognition:
        """WSXF is `<Reports>` in the WSXF namespace (TestStand XML's `<Reports>` has none)."""
        return recognize_xml(head, _is_wsxf)


def _is_wsxf(root: XmlHead) -> Recognition:
    if root.name == "Reports" and root.namespace == NS:
        return Recognition(True, f"root element {root.describe()} is WSXF")
    return Recognition(False, f'root element {root.describe()} is not <Reports xmlns="{NS}">')
