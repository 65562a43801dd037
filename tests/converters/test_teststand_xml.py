"""TestStandXMLConverter on real TestStand XML reports (with and without the WATS add-on)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.converters.teststand_checks import failed, post_all, step, steps
from tests.faults.hostile_xml import BROKEN_XML_CASES
from wats_converter.converters import RetryLater
from wats_converter.converters.builtin import TestStandXMLConverter
from wats_converter.errors import ConversionError, FileTooLarge
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import UUTReport
from wats_converter.server.fixture import ServerThread

DATA = Path(__file__).parent.parent / "data" / "teststand-xml"
WITH = DATA / "TSWithWats.xml"
PLAIN = DATA / "TsWithoutWats.xml"
BATCH = DATA / "derived TsWithoutWats batch of two.xml"
FILES = sorted(DATA.glob("*.xml"))
OSLO_SUMMER = timezone(timedelta(hours=2))


def convert(path: Path, **settings: object) -> list[UUTReport]:
    defaults = {"timezone": "Europe/Oslo", "part_number": "PN-SETTING"}
    return convert_path(TestStandXMLConverter({**defaults, **settings}), path).reports


def test_the_samples_and_their_derived_variant_are_all_here() -> None:
    assert [p.name for p in FILES] == sorted([WITH.name, PLAIN.name, BATCH.name])


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_file_converts_and_the_server_takes_every_report(
    path: Path, server: ServerThread
) -> None:
    reports = convert(path)
    post_all(server, reports)
    assert server.store.count() == len(reports)


def test_with_the_wats_add_on_report_info_gives_id_start_and_identity() -> None:
    (report,) = convert(WITH, timezone="America/New_York")
    assert report.id == uuid.UUID("f4fb0a29-93b1-4f7f-ada7-672b382774ab")
    assert (report.sn, report.pn, report.rev, report.processCode) == ("12345", "PN1", "1.0", 60)
    # the file's own offset wins over the timezone setting
    assert report.start == datetime(2022, 6, 23, 10, 55, 4, 370000, tzinfo=OSLO_SUMMER)
    assert report.start is not None and report.start.utcoffset() == timedelta(hours=2)
    assert report.result == "P"
    assert (report.machineName, report.location, report.purpose, report.uut.user) == (
        "VIC-PCBA-003",
        "Norautron Horten",
        "PCBA Test",
        "administrator",
    )
    assert report.uut.testSocketIndex is None  # TestStand's -1: not a socket
    assert report.root.seqCall is not None
    assert (report.root.seqCall.name, report.root.seqCall.version) == ("MainSequence", "0.0.0.0")
    (only,) = steps(report)
    assert (only.name, only.stepType, only.status) == ("Pass/Fail Test", "ET_PFT", "P")
    assert only.tsGuid == "ID#:YUT20dHy7BGprpAbDrcYlD"


def test_without_the_add_on_start_is_rebuilt_from_date_and_time_in_the_timezone() -> None:
    (report,) = convert(PLAIN)
    assert report.start == datetime(2022, 7, 1, 15, 47, 48, 927000, tzinfo=OSLO_SUMMER)
    (winter,) = convert(PLAIN, timezone="America/New_York")
    assert winter.start is not None and winter.start.utcoffset() == timedelta(hours=-4)
    assert (report.sn, report.pn, report.rev) == ("2342343", "PN-SETTING", "")
    assert (report.machineName, report.uut.user) == ("TS-2021-BETA", "administrator")
    assert report.result == "P"
    assert len(steps(report)) == 17  # the Report's StepCount
    assert failed(report) == []
    assert report.uut.execTime == pytest.approx(6.0831833)
    video = step(report, "Video Test").numericMeas[0]  # type: ignore[index]
    assert (video.compOp, video.value, video.lowLimit, video.highLimit, video.unit) == (
        "GTLT",
        5.0,
        0.0,
        10.0,
        "microseconds",
    )
    keyboard = step(report, "Keyboard Test").numericMeas[0]  # type: ignore[index]
    assert (keyboard.compOp, keyboard.value, keyboard.lowLimit, keyboard.highLimit) == (
        "GT",
        6.0,
        5.0,
        None,
    )
    cpu = step(report, "CPU Test")
    assert cpu.seqCall is not None and cpu.seqCall.version == "21.0.0.49156"
    assert len(cpu.steps or []) == 4
    # step start = report start + the step's engine time since the root result started
    assert step(report, "Video Test").start == report.start + timedelta(
        seconds=147.953846 - 141.9007959
    )
    assert step(report, "If", 1).reportText == "{False}"
    assert step(report, "Simulation Dialog").group == "S"


def test_no_part_number_anywhere_is_one_clear_error() -> None:
    with pytest.raises(ConversionError, match="part_number"):
        convert(PLAIN, part_number="")


def test_a_batch_file_gives_one_report_per_uut_with_batch_fields() -> None:
    first, second = convert(BATCH)
    assert [(r.sn, r.pn, r.result) for r in (first, second)] == [
        ("2342343", "PCBA-200", "P"),
        ("2342344", "PCBA-200", "F"),
    ]
    assert (first.uut.batchSN, first.uut.testSocketIndex) == ("BATCH-7", 0)
    assert (second.uut.batchSN, second.uut.testSocketIndex) == ("BATCH-7", 1)
    assert second.uut.user == "Bjørn"  # iso-8859-1, as declared
    assert second.start == datetime(2022, 7, 1, 15, 49, 2, 927000, tzinfo=OSLO_SUMMER)
    assert first.id != second.id
    assert len(steps(second)) == 22
    assert failed(second) == ["Keyboard Test", "Leakage"]
    supply = step(second, "Supply Voltage")
    meas = supply.numericMeas[0]  # type: ignore[index]
    assert (meas.compOp, meas.value, meas.lowLimit, meas.highLimit, meas.unit) == (
        "GELE",
        3.31,
        3.2,
        3.4,
        "V",
    )
    (extra,) = supply.additionalResults or []
    assert extra.name == "Temperature" and extra.props is not None
    assert (extra.props[0].name, extra.props[0].value) == ("Ambient", "23.5")
    leakage = step(second, "Leakage").numericMeas[0]  # type: ignore[index]
    assert (leakage.value, leakage.status) == (None, "F")
    firmware = step(second, "Firmware Version").stringMeas[0]  # type: ignore[index]
    assert (firmware.compOp, firmware.value, firmware.limit) == ("IGNORECASE", "v1.4.2", "V1.4.2")
    rails = step(second, "Rails")
    assert [
        (m.name, m.compOp, m.value, m.lowLimit, m.highLimit) for m in rails.numericMeas or []
    ] == [
        ("3V3", "GELE", 3.29, 3.2, 3.4),
        ("Temperature", "LT", 41.5, 70.0, None),
    ]
    eeprom = step(second, "Read EEPROM")
    assert (eeprom.status, eeprom.errorCode, eeprom.errorMessage) == (
        "E",
        -17300,
        "EEPROM did not answer",
    )
    # the first unit passed by TestStand's verdict although steps failed: kept, and said so
    notes = [m.text for m in first.miscInfos or [] if m.description == "wats-converter note"]
    assert notes == ["tester verdict Passed, but a step is Error"]


def test_the_same_file_converted_twice_gives_the_same_ids() -> None:
    assert [r.id for r in convert(BATCH)] == [r.id for r in convert(BATCH)]
    assert [r.id for r in convert(PLAIN)] == [r.id for r in convert(PLAIN)]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        *BROKEN_XML_CASES,
        pytest.param(lambda raw: b"\xff\xfe\x00garbage" * 50, "not well-formed XML", id="garbage"),
        pytest.param(
            lambda raw: raw.replace(b'encoding="iso-8859-1"', b'encoding="utf-8"').replace(
                b"<Value>administrator</Value>", "<Value>Bjørn</Value>".encode("iso-8859-1")
            ),
            "not well-formed XML",
            id="wrong-encoding",
        ),
        pytest.param(
            lambda raw: raw.replace(b"<Value>2342343</Value>", b"<Value></Value>"),
            "serial",
            id="no-serial",
        ),
        pytest.param(
            lambda raw: raw.replace(b"<Value>GTLT</Value>", b"<Value>BETWEEN</Value>"),
            "BETWEEN",
            id="bad-comparator",
        ),
        pytest.param(
            lambda raw: raw.replace(b"Name='StartDate'", b"Name='SomeDate'"),
            "start time",
            id="no-start",
        ),
        pytest.param(
            lambda raw: raw.replace(b"Prop Type='TEResult'", b"Prop Type='Other'"),
            "TEResult",
            id="no-results",
        ),
        pytest.param(
            lambda raw: raw.replace(b"<Reports>", b"<Results>").replace(
                b"</Reports>", b"</Results>"
            ),
            "not TestStand",
            id="not-teststand",
        ),
    ],
)
def test_broken_and_hostile_files_give_one_clear_error(
    tmp_path: Path, make: object, message: str
) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(make(PLAIN.read_bytes()))  # type: ignore[operator]
    with pytest.raises(ConversionError, match=message):
        convert(path)


def test_a_bad_report_id_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad-id.xml"
    path.write_bytes(WITH.read_bytes().replace(b"f4fb0a29-93b1", b"not-a-guid"))
    with pytest.raises(ConversionError, match="not a UUID"):
        convert(path)


def test_a_file_over_the_size_limit_is_refused_unread() -> None:
    with pytest.raises(FileTooLarge):
        convert(PLAIN, max_file_size_bytes=1024)


def test_teststand_xml_recognises_both_shapes_and_not_wsxf() -> None:
    converter = TestStandXMLConverter()
    assert "WATS add-on" in converter.recognizes(WITH.read_bytes(), WITH).reason
    assert converter.recognizes(PLAIN.read_bytes()[:4096], PLAIN).accepted
    wsxf = b'<Reports xmlns="http://wats.virinco.com/schemas/WATS/Report/wsxf"><Report/></Reports>'
    assert not converter.recognizes(wsxf, Path("r.xml")).accepted


def test_a_report_still_being_written_is_retried_later(tmp_path: Path) -> None:
    raw = BATCH.read_bytes()
    path = tmp_path / "growing.xml"
    path.write_bytes(raw[: len(raw) * 2 // 3])
    with pytest.raises(RetryLater, match="end marker not written yet"):
        convert(path)
    path.write_bytes(raw)
    assert [r.id for r in convert(path)] == [r.id for r in convert(BATCH)]
