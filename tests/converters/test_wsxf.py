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
from wats_converter.report import NOTE_DESCRIPTION, UUTReport
from wats_converter.testing import assert_valid_wsjf, rich_report

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


DATA = Path(__file__).parent.parent / "data"
WSXF_EXPORT = DATA / "wsxf" / "production_uut_export.xml"
WSJF_EXPORT = DATA / "wsjf" / "production_uut_export.json"


def without_notes(report: UUTReport) -> dict[str, object]:
    doc = report.to_dict()
    infos = [m for m in doc.get("miscInfos", []) if m["description"] != NOTE_DESCRIPTION]
    return {**doc, "miscInfos": infos}


def test_the_wsxf_export_converts_to_the_same_report_as_the_wsjf_export() -> None:
    (from_xml,) = convert(WSXF_EXPORT)
    (from_json,) = convert_path(WSJFConverter(), WSJF_EXPORT).reports
    assert_valid_wsjf(from_xml)
    assert normalise(without_notes(from_xml)) == normalise(from_json.to_dict())
    out = from_xml.to_wsjf().decode()
    assert '"start":"2024-01-05T22:01:41.4707353+01:00"' in out
    assert '"startUTC":"2024-01-05T21:01:41.4707353Z"' in out


def test_empty_attributes_are_absent_fields() -> None:
    (report,) = convert(WSXF_EXPORT)
    firmware = (report.miscInfos or [])[0]
    assert (firmware.description, firmware.typedef) == ("Firmware", None)  # Typedef=""
    popup = report.root.steps[1].steps[2]  # type: ignore[index]
    assert popup.messagePopup is not None and popup.messagePopup.response is None  # Response=""


def test_empty_string_readings_stay_readings(tmp_path: Path) -> None:
    report = rich_report("E-1")
    step = report.root.add_string_step("Blank", "", "", comp="CASESENSIT")
    path = tmp_path / "r.xml"
    path.write_bytes(render_wsxf([report]))
    (back,) = convert(path)
    meas = back.root.steps[-1].stringMeas[0]  # type: ignore[index]
    assert (step.name, meas.value, meas.limit, meas.status) == ("Blank", "", "", "P")


def test_additional_data_and_results_are_read() -> None:
    (report,) = convert(WSXF_EXPORT)
    (station,) = report.additionalData or []
    computer, teststand, temperatures = station.props or []
    assert (computer.name, computer.value, computer.flags) == ("Computer", "FCT-LINE3-02", 0)
    assert [(p.name, p.value, p.numFormat) for p in teststand.props or ()] == [
        ("Version", "2021 (21.0.0.49152)", None),
        ("Engine bits", "64", "%d"),
    ]
    assert temperatures.array is not None and temperatures.array.dimension == 1
    assert [(i.indexes, i.value.value) for i in temperatures.array.indexes or () if i.value] == [
        ([0], "23.5"),
        ([1], "24"),
    ]
    vcc5 = report.root.steps[0].steps[1]  # type: ignore[index]
    (instrument,) = vcc5.additionalResults or []
    assert [(p.name, p.value) for p in instrument.props or ()] == [
        ("Range", "10"),
        ("Model", "DMM 34465A"),
    ]


def test_what_is_not_read_is_logged_and_noted_in_the_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING"):
        (report,) = convert(WSXF_EXPORT)
    assert report.conversion_notes() == [
        "WSXF NumericLimit@MeasIndex not read (5x)",
        "WSXF Step@StepIndex not read (12x)",
        "WSXF StringValue@MeasIndex not read (1x)",
    ]
    assert "Step@StepIndex not read" in caplog.text


def test_an_unknown_element_is_noted_not_dropped(tmp_path: Path) -> None:
    xml = render_wsxf([rich_report("U-1")]).replace(
        b"<Process ", b'<Vendor Tool="x"><Deep /></Vendor><Process ', 1
    )
    path = tmp_path / "r.xml"
    path.write_bytes(xml)
    (report,) = convert(path)
    assert report.conversion_notes() == ["WSXF <Vendor> not read (1x)"]


def test_output_only_attributes_are_read_and_not_sent_on() -> None:
    (report,) = convert(WSXF_EXPORT)
    assert report.productName == "Motor controller 4711"
    assert report.uut.stepIdCausedUUTFailure == 3
    assert b"productName" not in report.to_wsjf()


def test_nan_readings_follow_the_nan_policy() -> None:
    (report,) = convert(DATA / "wsxf" / "nan_readings.xml")
    assert_valid_wsjf(report)
    power = report.root.steps[0]  # type: ignore[index]
    vcc5, ripple = power.steps[1], power.steps[2]  # type: ignore[index]
    assert (vcc5.numericMeas[0].value, vcc5.numericMeas[0].status) == (None, "F")  # type: ignore[index]
    assert vcc5.reportText == "5V rail above limit\nreading was NaN"
    rms = ripple.numericMeas[1]  # type: ignore[index]
    assert (rms.value, rms.status, ripple.status) == (None, "F", "F")  # -NAN, GELE limits
    assert ripple.reportText == "reading was NaN: RMS"
