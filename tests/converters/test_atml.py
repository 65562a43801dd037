"""ATMLConverter on real TestStand ATML files (2.02, 6.01) and variants derived from them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.converters.teststand_checks import failed, post_all, step, steps
from tests.faults.hostile_xml import BROKEN_XML_CASES
from wats_converter.converters import RetryLater
from wats_converter.converters.builtin import ATMLConverter
from wats_converter.errors import ConversionError, FileTooLarge
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import UUTReport
from wats_converter.server.fixture import ServerThread

DATA = Path(__file__).parent.parent / "data" / "atml"
V202 = DATA / "ATML 2.02 [123456789][2 30 27 PM][5 15 2019].XML"
V601 = DATA / "ATML 6.01 [2 31 52 PM][5 15 2019].xml"
V500 = DATA / "derived ATML 5.00 [2 31 52 PM][5 15 2019].xml"
BATCH = DATA / "derived ATML 6.01 batch of two.xml"
RICH = DATA / "derived ATML 2.02 more step kinds.XML"
FILES = sorted(p for p in DATA.iterdir() if p.suffix.lower() == ".xml")
OSLO_SUMMER = timezone(timedelta(hours=2))


def convert(path: Path, **settings: object) -> list[UUTReport]:
    return convert_path(ATMLConverter({"timezone": "Europe/Oslo", **settings}), path).reports


def test_the_samples_and_their_derived_variants_are_all_here() -> None:
    assert [p.name for p in FILES] == sorted(
        [V202.name, V601.name, V500.name, BATCH.name, RICH.name]
    )


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_file_converts_and_the_server_takes_every_report(
    path: Path, server: ServerThread
) -> None:
    reports = convert(path)
    post_all(server, reports)
    assert server.store.count() == len(reports)
    for report in reports:
        assert server.store.get(str(report.id)) is not None


def test_atml_2_02_sample_field_by_field() -> None:
    (report,) = convert(V202)
    assert report.id == uuid.UUID("33efe64e-770d-11e9-826e-00155d017250")
    assert (report.sn, report.pn, report.rev) == ("123456789", "Ragnar123", "")
    assert report.start == datetime(2019, 5, 15, 14, 30, 27, 58000, tzinfo=OSLO_SUMMER)
    assert report.start is not None and report.start.utcoffset() == timedelta(hours=2)
    assert report.result == "F"
    assert report.machineName == "TS-2016-BETA"
    assert report.uut.user == "administrator"
    assert report.uut.execTime == pytest.approx(2.17)
    assert report.root.seqCall is not None and report.root.seqCall.name == "MainSequence"
    assert report.root.seqCall.path is not None
    assert report.root.seqCall.path.endswith("Computer Motherboard Test Sequence VIC.seq")
    # the file counts 23 results (ts:NumOfResults): every step below the MainSequence callback
    assert len(steps(report)) == 23
    assert failed(report) == ["Keyboard Test", "Keyboard Diagnostics"]
    video = step(report, "Video Test")
    assert video.stepType == "ET_NLT" and video.status == "P"
    (meas,) = video.numericMeas or []
    assert (meas.compOp, meas.value, meas.lowLimit, meas.highLimit, meas.unit) == (
        "GTLT",
        5.0,
        0.0,
        10.0,
        "microseconds",
    )
    keyboard = step(report, "Keyboard Test")
    (meas,) = keyboard.numericMeas or []
    assert (meas.compOp, meas.value, meas.lowLimit, meas.highLimit, meas.status) == (
        "GT",
        4.0,
        5.0,
        None,
        "F",
    )
    assert keyboard.causedSeqFailure is True
    cpu = step(report, "CPU Test")
    assert cpu.seqCall is not None and cpu.seqCall.name == "CPU Test"
    assert [s.name for s in cpu.steps or []] == [
        "Register Test",
        "Instruction Set Test",
        "Cache Test",
        "FPU Test",
    ]
    assert step(report, "Powerup Test").booleanMeas[0].status == "P"  # type: ignore[index]
    # Aborted + qualifier Skipped: the steps that never ran
    assert [s.name for s in steps(report) if s.status == "S"] == [
        "CPU Diagnostics",
        "ROM Diagnostics",
        "RAM Diagnostics",
        "Video Diagnostics",
    ]
    assert step(report, "Video Diagnostics").stepType == "ET_NLT"
    assert step(report, "Add Partnumber").group == "S"
    assert step(report, "Turn Vacuum Table Off").group == "C"
    assert step(report, "Simulation Dialog").status == "D"
    assert step(report, "If").reportText == "{True}"


def test_atml_6_01_sample_field_by_field() -> None:
    (report,) = convert(V601)
    assert report.id == uuid.UUID("67294591-770d-11e9-826e-00155d017250")
    assert (report.sn, report.pn) == ("123456789", "Ragnar123")
    assert report.start == datetime(2019, 5, 15, 14, 31, 52, 851000, tzinfo=OSLO_SUMMER)
    assert report.result == "F"
    assert len(steps(report)) == 23
    assert failed(report) == ["Keyboard Test", "Keyboard Diagnostics"]
    # TestStand's own step time (ts:TotalTime) wins over end - start
    assert step(report, "Simulation Dialog").totTime == pytest.approx(1.96101)
    keyboard = step(report, "Keyboard Test")
    assert keyboard.causedUUTFailure is True  # the critical failure stack names result 94
    assert keyboard.numericMeas is not None and keyboard.numericMeas[0].lowLimit == 5.0
    assert step(report, "Video Test").start == datetime(
        2019, 5, 15, 14, 31, 54, 938000, tzinfo=OSLO_SUMMER
    )
    # 6.01 writes NotStarted for what 2.02 wrote as Aborted/Skipped
    assert step(report, "RAM Diagnostics").status == "S"
    assert step(report, "CPU Test").seqCall is not None


def test_the_5_00_namespace_generation_reads_as_6_01_does() -> None:
    (from_500,) = convert(V500)
    (from_601,) = convert(V601)
    assert from_500.to_dict() == from_601.to_dict()


def test_a_batch_report_gives_one_report_per_uut() -> None:
    first, second = convert(BATCH)
    assert (first.sn, first.result) == ("123456789", "F")
    assert (second.sn, second.result) == ("123456790", "P")
    assert second.id == uuid.UUID("67294592-770d-11e9-826e-00155d017250")
    assert second.start == datetime(2019, 5, 15, 14, 33, 52, 851000, tzinfo=OSLO_SUMMER)
    assert failed(second) == []
    assert step(second, "Keyboard Test").numericMeas[0].value == 7.0  # type: ignore[index]


def test_more_step_kinds_limits_strings_multi_numeric_nan_and_errors() -> None:
    (report,) = convert(RICH)
    assert report.uut.user == "bjørn"  # iso-8859-1 with a stylesheet instruction, as declared
    assert len(steps(report)) == 29
    supply = step(report, "Supply Voltage").numericMeas[0]  # type: ignore[index]
    assert (supply.compOp, supply.value, supply.lowLimit, supply.highLimit, supply.unit) == (
        "GELE",
        3.31,
        3.2,
        3.4,
        "V",
    )
    (extra,) = step(report, "Supply Voltage").additionalResults or []
    assert extra.name == "Temperature" and extra.props is not None
    (temperature,) = extra.props
    assert temperature.props is not None
    assert (temperature.props[0].name, temperature.props[0].value) == ("Ambient", "23.5")
    leakage = step(report, "Leakage")
    assert leakage.status == "F" and leakage.numericMeas is not None
    assert leakage.numericMeas[0].value is None and leakage.numericMeas[0].status == "F"
    assert "NaN" in (leakage.reportText or "")
    band = step(report, "Out Of Band").numericMeas[0]  # type: ignore[index]
    assert (band.compOp, band.lowLimit, band.highLimit, band.unit) == ("LTGT", 5.0, 10.0, "kHz")
    firmware = step(report, "Firmware Version")
    assert firmware.stepType == "ET_SVT" and firmware.stringMeas is not None
    assert (firmware.stringMeas[0].compOp, firmware.stringMeas[0].limit) == ("IGNORECASE", "V1.4.2")
    rails = step(report, "Rails")
    assert rails.stepType == "ET_MNLT"
    assert [(m.name, m.compOp, m.value, m.lowLimit) for m in rails.numericMeas or []] == [
        ("3V3", "GELE", 3.29, 3.2),
        ("Temperature", "LT", 41.5, 70.0),
    ]
    eeprom = step(report, "Read EEPROM")
    assert (eeprom.status, eeprom.errorCode, eeprom.errorMessage) == (
        "E",
        -17300,
        "EEPROM did not answer",
    )
    assert failed(report) == ["Keyboard Test", "Keyboard Diagnostics", "Leakage"]
    # the tester said Failed; an errored step makes the steps' verdict Error: both are told
    assert report.result == "F"
    notes = [m.text for m in report.miscInfos or [] if m.description == "wats-converter note"]
    assert notes == ["tester verdict Failed, but a step is Error"]


def test_the_same_file_converted_twice_gives_the_same_ids(tmp_path: Path) -> None:
    assert [r.id for r in convert(BATCH)] == [r.id for r in convert(BATCH)]
    without = tmp_path / "no-uuid.xml"
    without.write_bytes(
        V202.read_bytes().replace(b' uuid="33efe64e-770d-11e9-826e-00155d017250"', b"")
    )
    (a,), (b,) = convert(without), convert(without)
    assert a.id == b.id and a.id != uuid.UUID("33efe64e-770d-11e9-826e-00155d017250")


def test_settings_fill_what_atml_lacks_and_the_file_wins(tmp_path: Path) -> None:
    settings = {
        "part_number": "FROM-SETTING",
        "revision": "B",
        "sequence_version": "1.2.3",
        "process_code": 60,
        "timezone": "America/New_York",
    }
    (report,) = convert(V202, **settings)
    assert (report.pn, report.rev, report.processCode) == ("Ragnar123", "B", 60)
    assert report.root.seqCall is not None and report.root.seqCall.version == "1.2.3"
    assert report.start is not None and report.start.utcoffset() == timedelta(hours=-4)
    no_pn = tmp_path / "no-pn.xml"
    no_pn.write_bytes(V202.read_bytes().replace(b'number="Ragnar123"', b""))
    (report,) = convert(no_pn, **settings)
    assert report.pn == "FROM-SETTING"
    with pytest.raises(ConversionError, match="part_number"):
        convert(no_pn)


def test_a_start_in_the_dst_gap_is_noted_not_shifted(tmp_path: Path) -> None:
    path = tmp_path / "gap.xml"
    path.write_bytes(
        V202.read_bytes().replace(b"2019-05-15T14:30:27.058", b"2019-03-31T02:30:27.058")
    )
    (report,) = convert(path)
    assert any("DST gap" in (m.text or "") for m in report.miscInfos or [])


def _variant(tmp_path: Path, data: bytes, name: str = "bad.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        *BROKEN_XML_CASES,
        pytest.param(lambda raw: b"\x00\x01garbage\xff" * 100, "not well-formed XML", id="garbage"),
        pytest.param(
            lambda raw: raw.replace(b'encoding="iso-8859-1"', b'encoding="utf-8"').replace(
                b"administrator", "bjørn".encode("iso-8859-1")
            ),
            "not well-formed XML",
            id="wrong-encoding",
        ),
        pytest.param(
            lambda raw: raw.replace(b"<c:SerialNumber>123456789", b"<c:SerialNumber>"),
            "serial",
            id="no-serial",
        ),
        pytest.param(
            lambda raw: raw.replace(b'uuid="33efe64e', b'uuid="nope'), "not a UUID", id="bad-uuid"
        ),
        pytest.param(
            lambda raw: raw.replace(b'comparator = "GT"', b'comparator = "XX"', 1),
            "XX",
            id="bad-comparator",
        ),
        pytest.param(
            lambda raw: raw.replace(b"2019-05-15T14:30:27.058", b"15.05.2019 14:30", 1),
            "ISO",
            id="bad-time",
        ),
        pytest.param(
            lambda raw: raw.replace(b"tr:TestResults", b"tr:Results"), "not ATML", id="not-atml"
        ),
    ],
)
def test_broken_and_hostile_files_give_one_clear_error(
    tmp_path: Path, make: object, message: str
) -> None:
    path = _variant(tmp_path, make(V202.read_bytes()))  # type: ignore[operator]
    with pytest.raises(ConversionError, match=message):
        convert(path)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    with pytest.raises(FileTooLarge):
        convert(V601, max_file_size_bytes=1024)


def test_atml_recognises_its_files_and_only_those() -> None:
    converter = ATMLConverter()
    for path, generation in ((V202, "2.02"), (V601, "6.01"), (V500, "5.00")):
        seen = converter.recognizes(path.read_bytes()[:16384], path)
        assert seen.accepted and generation in seen.reason
    teststand = Path(__file__).parent.parent / "data" / "teststand-xml" / "TSWithWats.xml"
    assert not converter.recognizes(teststand.read_bytes(), teststand).accepted


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.999], ids=["in-first-unit", "between", "last-tag"])
def test_a_report_still_being_written_is_retried_later_never_half_converted(
    tmp_path: Path, cut: float
) -> None:
    raw = BATCH.read_bytes()
    path = _variant(tmp_path, raw[: int(len(raw) * cut)])
    with pytest.raises(RetryLater, match="end marker not written yet"):
        convert(path)
    path.write_bytes(raw)  # TestStand finished the file: both units, with their own ids
    assert [str(r.id)[:8] for r in convert(path)] == ["67294591", "67294592"]


def _nested(levels: int) -> bytes:
    group = (
        '<tr:TestGroup name="f.seq#Inner" ID="g" callerName="Level"><tr:Outcome value="Passed"/>'
    )
    inner = '<tr:Test ID="t" name="Deep Test"><tr:Extension><ts:TSStepProperties><ts:StepType>PassFailTest</ts:StepType></ts:TSStepProperties></tr:Extension><tr:Outcome value="Passed"/></tr:Test>'
    tree = group * levels + inner + "</tr:TestGroup>" * levels
    raw = V202.read_bytes()
    start = raw.index(b'<tr:SessionAction ID = "31"')
    end = raw.index(b'<tr:SessionAction ID = "54"')
    return raw[:start] + tree.encode() + raw[end:]


def test_sequence_calls_nest_to_any_real_depth_and_a_nesting_bomb_is_refused(
    tmp_path: Path,
) -> None:
    (report,) = convert(_variant(tmp_path, _nested(30), "deep.xml"))
    assert len(steps(report)) == 30 + 1 + 1  # 30 sequence calls, the test, the cleanup action
    assert steps(report)[30].name == "Deep Test"
    with pytest.raises(ConversionError, match="nested deeper than 100"):
        convert(_variant(tmp_path, _nested(5000), "bomb.xml"))
