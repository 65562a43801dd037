"""Conformance: every report the project produces or stores validates against the server's schema.

The schema is the copy shipped in the package (`wats_converter/report/wsjf-schema.json`, the
WATS 2025.3 swagger definitions, unchanged), with unknown properties refused. Every built-in
converter is tried on every example and test fixture file it claims by extension; whatever it
produces must validate, and so must everything the local server stores.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from wats_converter.converters.api import ConverterBase, SkipFile
from wats_converter.converters.builtin import BUILTIN_CONVERTERS
from wats_converter.errors import ConversionError, ReportValidationError
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import UUTReport
from wats_converter.report.schema import swagger_definitions
from wats_converter.testing import assert_valid_wsjf, local_server, minimal_report, rich_report

ROOT = Path(__file__).parent.parent
FILES = sorted(
    p
    for base in (ROOT / "examples", ROOT / "tests" / "data")
    for p in base.rglob("*")
    if p.is_file()
)
CONVERTERS = sorted(BUILTIN_CONVERTERS.values(), key=lambda c: c.name)
CSV_SETTINGS = YAML(typ="safe").load((ROOT / "examples" / "csv" / "columns.yaml").read_text())
SETTINGS = {
    ("CSVConverter", "columns.csv"): CSV_SETTINGS["converters"][0]["settings"],
    # TestStand XML without the WATS add-on has no part number: the setting gives it
    ("TestStandXMLConverter", "TsWithoutWats.xml"): {"part_number": "PCBA-100"},
}


def produced() -> list[tuple[str, UUTReport]]:
    """Every report a built-in converter makes of an example or fixture file."""
    reports = []
    for path in FILES:
        for cls in CONVERTERS:
            if path.suffix.lower() not in cls.supported_extensions:
                continue
            converter: ConverterBase = cls(SETTINGS.get((cls.name, path.name)))
            try:
                conversion = convert_path(converter, path)
            except (ConversionError, ReportValidationError, SkipFile):
                continue  # not this converter's format: refused clearly, nothing produced
            where = f"{cls.name} {path.relative_to(ROOT)}"
            reports += [(f"{where} [{i}]", r) for i, r in enumerate(conversion.reports)]
    return reports


PRODUCED = produced()


def test_the_schema_copy_is_the_servers_contract() -> None:
    schema = swagger_definitions()
    assert "2025.3" in schema["source"]
    assert len(schema["definitions"]) == 25


def test_every_built_in_converter_and_fixture_is_covered() -> None:
    assert {c.name for c in CONVERTERS} >= {
        "WSJFConverter",
        "WSXFConverter",
        "WSTFConverter",
        "CSVConverter",
    }
    sources = {where.split(" ")[0] for where, _ in PRODUCED}
    assert sources >= {"WSJFConverter", "WSXFConverter", "WSTFConverter", "CSVConverter"}
    assert any(r.is_repair for _, r in PRODUCED)
    converted = {where.split(" ", 1)[1].rsplit(" [", 1)[0] for where, _ in PRODUCED}
    reports = {
        str(p.relative_to(ROOT))
        for p in FILES
        if p.suffix in (".json", ".xml", ".txt", ".csv")
        and "my_converters" not in p.parts
        and not p.name.lower().startswith("readme")  # a vendor's notes beside its samples
    }
    assert reports <= converted  # no example or fixture is silently left out


@pytest.mark.parametrize(("where", "report"), PRODUCED, ids=[w for w, _ in PRODUCED])
def test_every_produced_report_validates_against_the_schema(where: str, report: UUTReport) -> None:
    assert_valid_wsjf(report.to_wsjf())


def test_every_report_the_local_server_stores_validates_against_the_schema() -> None:
    bodies = [r.to_wsjf() for _, r in PRODUCED]
    # server exports as exported (output-only fields and all); other files are not complete
    bodies += [p.read_bytes() for p in sorted((ROOT / "tests" / "data").rglob("*export.json"))]
    for built in (minimal_report(), rich_report()):
        built.id = built.id or uuid.uuid4()
        bodies.append(built.to_wsjf())
    with local_server() as server:
        for body in bodies:
            request = urllib.request.Request(
                server.url + "/api/Report/WSJF",
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Basic {server.token}",
                    "Content-Type": "application/json",
                },
            )
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except urllib.error.HTTPError as exc:
                pytest.fail(f"HTTP {exc.code}: {exc.read().decode()[:500]}")
        stored = list(server.store.receive_counts())
        assert len(stored) >= len(PRODUCED) // 2
        for report_id in stored:
            body = server.store.get(report_id)
            assert body is not None
            assert_valid_wsjf(json.loads(json.dumps(body)))
