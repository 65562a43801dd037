"""WSXFConverter: round trip, equivalence with WSJF, hostile and malformed XML."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pytest

from tests.faults.hostile_xml import BILLION_LAUGHS, EXTERNAL
from tests.helpers import normalise
from wats_converter.converters.builtin import WSJFConverter, WSXFConverter
from wats_converter.converters.builtin.wsxf_render import render_wsxf
from wats_converter.errors import ConversionError
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import UUTReport
from wats_converter.testing import rich_report

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def convert(path: Path) -> list[UUTReport]:
    return convert_path(WSXFConverter(), path).reports


def test_round_trip_of_a_rich_report(tmp_path: Path) -> None:
    report = rich_report("RT-1")
    path = tmp_path / "r.xml"
    path.write_bytes(render_wsxf([report]))
    (back,) = convert(path)
    assert back.to_dict() == report.to_dict()


def test_wsxf_and_wsjf_of_one_report_convert_identically(tmp_path: Path) -> None:
    report = rich_report("SAME-1")
    (tmp_path / "r.xml").write_bytes(render_wsxf([report]))
    (tmp_path / "r.json").write_bytes(report.to_wsjf())
    (from_xml,) = convert(tmp_path / "r.xml")
    (from_json,) = convert_path(WSJFConverter(), tmp_path / "r.json").reports
    assert normalise(from_xml.to_dict()) == normalise(from_json.to_dict())


def test_spec_example_keeps_every_field() -> None:
    (report,) = convert(EXAMPLES / "wsxf" / "spec_example.xml")
    assert str(report.id) == "7f0c1c52-3a57-4f43-9d5e-6a0e2b1f9a10"
    assert (report.sn, report.pn, report.rev, report.machineName) == (
        "SN000124",
        "PCBA-1001",
        "B",
        "FCT-02",
    )
    assert report.uut.comment == "converted" and report.uut.execTime == 4.2
    assert report.miscInfos and report.miscInfos[0].text == "1.4.2"
    assert report.subUnits and report.subUnits[0].sn == "PSU-000778"
    rails = report.root.steps[1]  # type: ignore[index]
    assert [m.name for m in rails.numericMeas or []] == ["3V3", "Temp"]
    assert rails.numericMeas[1].compOp == "LT" and rails.numericMeas[1].lowLimit == 70  # type: ignore[index]
    assert report.root.seqCall is not None and report.root.seqCall.path == "fct.seq"


def test_several_reports_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "two.xml"
    path.write_bytes(render_wsxf([rich_report("A-1"), rich_report("B-2", seed=2)]))
    assert [r.sn for r in convert(path)] == ["A-1", "B-2"]


def test_a_passed_step_with_a_failed_measurement_becomes_failed(tmp_path: Path) -> None:
    text = (
        (EXAMPLES / "wsxf" / "spec_example.xml")
        .read_text()
        .replace(
            'NumericValue="5.02" Units="V" CompOperator="GELE" LowLimit="4.9" HighLimit="5.1" Status="Passed"',
            'NumericValue="5.5" Units="V" CompOperator="GELE" LowLimit="4.9" HighLimit="5.1" Status="Failed"',
        )
    )
    path = tmp_path / "r.xml"
    path.write_text(text)
    (report,) = convert(path)
    assert report.root.steps[0].status == "F"  # type: ignore[index]


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL], ids=["entity-bomb", "external-entity"])
def test_hostile_xml_is_refused_fast_in_bounded_memory(tmp_path: Path, xml: str) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(xml)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ConversionError, match="refused unsafe XML"):
        convert(path)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0 and peak < 5_000_000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t[: len(t) // 2], "not well-formed XML"),
        (
            lambda t: t.replace("schemas/WATS/Report/wsxf", "schemas/other"),
            "a WSXF file has <Reports",
        ),
        (lambda t: t.replace('NumericValue="5.02"', 'NumericValue="5,x"'), "'5,x' is not a number"),
        (lambda t: t.replace('Result="Passed"', 'Result="Great"'), "'Great' is not one of"),
        (lambda t: t.replace('<Process Code="10" />', ""), "needs one <UUT>, one <Process>"),
        (
            lambda t: t.replace('CompOperator="GELE"', 'CompOperator="GTE"', 1),
            "'GTE' is not a comparison",
        ),
    ],
    ids=["truncated", "wrong-namespace", "bad-number", "bad-result", "no-process", "bad-operator"],
)
def test_malformed_wsxf_gives_a_clear_error(tmp_path: Path, change: object, message: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(change((EXAMPLES / "wsxf" / "spec_example.xml").read_text()))  # type: ignore[operator]
    with pytest.raises(Exception, match=message) as info:
        convert(path)
    assert type(info.value).__name__ in ("ConversionError", "ReportValidationError")
    assert json.dumps(str(info.value))  # printable, one line
