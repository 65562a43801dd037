"""Hostile XML documents shared by the converter and fault tests."""

import pytest

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<Reports xmlns="http://wats.virinco.com/schemas/WATS/Report/wsxf"><Report SN="&lol9;"/></Reports>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Reports xmlns="http://wats.virinco.com/schemas/WATS/Report/wsxf"><Report SN="&xxe;"/></Reports>"""


def _cut(raw: bytes) -> bytes:
    return raw[: len(raw) // 2] + b"</wrong>"


# (make, message) cases for a converter's broken-file test: `make` turns a good file's bytes
# into a bad one, `message` is what the ConversionError must say
BROKEN_XML_CASES = [
    pytest.param(_cut, "not well-formed XML", id="broken"),
    pytest.param(lambda raw: BILLION_LAUGHS.encode(), "refused unsafe XML", id="entity-bomb"),
    pytest.param(lambda raw: EXTERNAL.encode(), "refused unsafe XML", id="xxe"),
]
