"""WSTFConverter: round trip, the spec example, cultures, errors with line numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from wats_converter.converters.builtin import WSTFConverter
from wats_converter.converters.builtin.wstf_render import render_wstf
from wats_converter.errors import ConversionError
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import UUTReport, finalize

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "wstf" / "spec_example.txt"


def convert(path: Path, **settings: object) -> list[UUTReport]:
    return convert_path(WSTFConverter(dict(settings)), path).reports


def wstf_report() -> UUTReport:
    """A report using everything the text format can carry."""
    report = UUTReport(
        pn="PCBA-7",
        sn="TXT-1",
        rev="C",
        processCode=10,
        machineName="FCT-9",
        location="Unknown",
        purpose="Production",
        start=datetime(2025, 3, 4, 10, 2, 11, tzinfo=UTC),
    )
    report.uut.user, report.uut.fixtureId, report.uut.batchSN = "op", "FX-1", "LOT-9"
    report.root.seqCall.path, report.root.seqCall.version = "fct.seq", "2.0"  # type: ignore[union-attr]
    report.add_sub_unit("PSU", "PSU-200", "PSU-1", "A")
    report.add_misc_info("Firmware", "1.4.2")
    power = report.root.add_sequence("Power")
    power.add_numeric_step("VCC", 5.02, 4.9, 5.1, unit="V", totTime=0.2, reportText="4-wire")
    rails = power.add_step("Rails")
    rails.add_numeric_measurement("3V3", 3.31, 3.2, 3.4, unit="V")
    rails.add_numeric_measurement("Temp", 80.5, 70, comp="LT", unit="degC")
    report.root.add_pass_fail_step("LED check", True)
    report.root.add_string_step("FW", "v1.4.2", "V1.4.2", comp="IGNORECASE")
    report.root.add_action_step("Retry", status="E", errorCode=-17, errorMessage="PSU timeout")
    sweep = report.root.add_numeric_step("Sweep", -3.1, comp="LOG", unit="dB")
    sweep.set_chart(
        [("Gain", [-0.1, 0.0, -3.1], [100, 1000, 10000])],
        label="Response",
        x_label="f",
        x_unit="Hz",
        y_label="Gain",
        y_unit="dB",
    )
    return finalize(_with_id(report))


def _with_id(report: UUTReport) -> UUTReport:
    import uuid

    report.id = uuid.uuid4()
    return report


def test_round_trip(tmp_path: Path) -> None:
    original = wstf_report()
    path = tmp_path / "r.txt"
    path.write_text(render_wstf([original]), encoding="cp1252")
    (back,) = convert(path, timezone="UTC")
    expected = original.to_dict()
    got = back.to_dict()
    expected.pop("id"), got.pop("id")
    assert got == expected


def test_spec_example() -> None:
    (report,) = convert(EXAMPLE, timezone="Europe/Oslo")
    assert (report.sn, report.pn, report.rev, report.processCode) == (
        "SN000125",
        "PCBA-1001",
        "B",
        10,
    )
    assert report.start is not None and report.start.isoformat() == "2025-03-04T10:02:11+01:00"
    assert report.miscInfos and (report.miscInfos[0].description, report.miscInfos[0].text) == (
        "Firmware",
        "1.4.2",
    )
    assert report.subUnits and report.subUnits[0].sn == "PSU-000779"
    power = report.root.steps[0]  # type: ignore[index]
    assert power.name == "Power" and [s.name for s in power.steps or []] == ["VCC", "Rails"]
    assert [m.name for m in power.steps[1].numericMeas or []] == ["3V3", "Temp"]  # type: ignore[index]
    assert report.result == "P" and report.uut.execTime == 4.2


def test_decimal_comma_and_several_uuts(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("5.02\t4.9\t5.1", "5,02\t4,9\t5,1").replace("4.2", "4,2")
    text = text.replace("3.31\t3.2\t3.4", "3,31\t3,2\t3,4").replace("41.5", "41,5")
    path = tmp_path / "two.txt"
    path.write_text(text + text.replace("SN000125", "SN000126"))
    reports = convert(path, decimal=",")
    assert [r.sn for r in reports] == ["SN000125", "SN000126"]
    assert reports[0].root.steps[0].steps[0].numericMeas[0].value == 5.02  # type: ignore[index]


def test_cp1252_is_the_default_encoding(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes(EXAMPLE.read_bytes().replace(b"operator2", "Jørgen".encode("cp1252")))
    assert convert(path)[0].uut.user == "Jørgen"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.split("--Step-Data-End--")[0], "line 21: the file ends before --UUT-End--"),
        (
            lambda t: t.replace("PassFailTest", "PassFail"),
            "line 20, field 'StepType': unknown step type 'PassFail'",
        ),
        (lambda t: t.replace("5.02", "5.0x"), "line 16, field 'Value': '5.0x' is not a number"),
        (
            lambda t: t.replace("GELE\tV\tPassed\t0.2", "GTE\tV\tPassed\t0.2"),
            "line 16, field 'CompOperator': 'GTE' is not a comparison",
        ),
        (lambda t: t.replace("SerialNumber\tSN000125\n", ""), "header SerialNumber is missing"),
        (
            lambda t: t.replace("Firmware\t1.4.2", "Firmware 1.4.2"),
            "line 12: unknown keyword 'Firmware 1.4.2'",
        ),
        (
            lambda t: t.replace("EndSequenceCall\tPower\n", ""),
            "SequenceCall 'Power' is never ended",
        ),
        (lambda t: "junk\n" + t, "line 1: text before --Header-Start--"),
    ],
    ids=[
        "truncated",
        "unknown-step",
        "bad-number",
        "bad-operator",
        "no-sn",
        "no-tab",
        "unclosed",
        "junk",
    ],
)
def test_malformed_wstf_names_the_line(tmp_path: Path, change: object, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(change(EXAMPLE.read_text()))  # type: ignore[operator]
    with pytest.raises(ConversionError, match=message.replace("(", r"\(")):
        convert(path)


def test_a_nan_reading_keeps_no_value_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "nan.txt"
    path.write_text(EXAMPLE.read_text().replace("\t5.02\t", "\tNaN\t"))
    (report,) = convert(path)
    vcc = next(s for s in report.root.walk() if s.name == "VCC")
    (meas,) = vcc.numericMeas or []
    assert (meas.value, meas.status) == (None, "F")
    assert "reading was NaN" in (vcc.reportText or "")
