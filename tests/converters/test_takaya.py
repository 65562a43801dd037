"""TakayaConverter on the real Takaya samples (tests/data/takaya, see SOURCES.md there)."""

from __future__ import annotations

import math
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.converters.vendor import post_checked
from wats_converter.converters import RetryLater
from wats_converter.converters.builtin import BUILTIN_CONVERTERS, TakayaConverter
from wats_converter.errors import ConversionError
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import Step, UUTReport
from wats_converter.server.fixture import ServerThread

DATA = Path(__file__).parent.parent / "data" / "takaya"
V682780 = DATA / "ATD" / "V682780_B_BOT-20230301082027.ATD"
PB2939800 = DATA / "ATD" / "PB2939800_E_BOT-20230420130239.ATD"
APT_AT33 = DATA / "APT94xx_ATD" / "11111-BV0001 (AT33).ATD"
APT_OP01 = DATA / "APT94xx_ATD" / "12345 - SN0001 (FP1 - OP01).ATD"
SAMPLES = [V682780, PB2939800, APT_AT33, APT_OP01]
OSLO = {"timezone": "Europe/Oslo"}


def convert(path: Path, **settings: object) -> list[UUTReport]:
    return convert_path(TakayaConverter({**OSLO, **settings}), path).reports


def steps(report: UUTReport) -> dict[str, Step]:
    """Every test step by name (sequences left out); names are unique within a report."""
    found = {s.name: s for s in report.root.walk() if s.numericMeas}
    assert len(found) == sum(1 for s in report.root.walk() if s.numericMeas)
    return found


def meas(report: UUTReport, name: str) -> tuple[object, ...]:
    m = steps(report)[name].numericMeas[0]  # type: ignore[index]
    return (m.value, m.lowLimit, m.highLimit, str(m.compOp), m.unit, m.status)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_sample_converts_validates_and_posts(path: Path, server: ServerThread) -> None:
    post_checked(server, convert(path))


def test_panel_with_two_groups_gives_two_boards() -> None:
    first, second = convert(V682780)
    assert [r.sn for r in (first, second)] == ["0601994566", "0601994567"]
    for report in (first, second):
        assert (report.pn, report.rev, report.machineName) == ("V682780_B_BOT", "", "TAK4")
        assert report.start == datetime.fromisoformat("2023-03-01T08:20:27+01:00")
        assert report.result == "P"
        assert report.processCode == 10
        assert len(steps(report)) == 52  # 55 rows, 3 of them jumper (JP) rows
        assert report.root.seqCall is not None
        assert report.root.seqCall.name == "V682780_B_BOT.SWX"
    assert [r.uut.testSocketIndex for r in (first, second)] == [1, 2]
    assert first.miscInfos and (first.miscInfos[0].description, first.miscInfos[0].text) == (
        "Panel test time",
        "14 s",
    )
    assert meas(first, "R7 (GND-NVG)") == (9970.0, 9900.0, 10100.0, "GELE", "Ω", "P")
    assert meas(first, "L2 (+12VB-12V)") == (5.3e-06, 3.864e-06, 7.176e-06, "GELE", "H", "P")
    assert meas(first, "I13 4-GP (PWM_Red-GND)") == (0.68, 0.6066, 0.7414, "GELE", "V", "P")
    # SH: a short passes below 10 Ω; OP: an open passes above 100 Ω (limit in lowLimit)
    assert meas(first, "P1P3 (+12VB-12V)") == (0.43, 10.0, None, "LT", "Ω", "P")
    assert meas(first, "P1P2 (+12VB-3V3)") == (409.5, 100.0, None, "GT", "Ω", "P")
    names = [s.name for s in first.root.steps or []]
    assert names == [
        "Shorts and opens (P-Auto)",
        "Inductors",
        "Resistors",
        "Integrated circuits",
        "Capacitors",
    ]


def test_a_retested_row_keeps_the_retest_reading_and_says_so() -> None:
    _, second = convert(V682780)
    c4 = steps(second)["C4 (GND-SCL_uCConfig)"]
    assert meas(second, "C4 (GND-SCL_uCConfig)") == (
        1.746e-11,
        1.70562e-11,  # 18.34 pF -7 %
        1.9257e-11,  # 18.34 pF +5 %
        "GELE",
        "F",
        "P",
    )
    assert c4.reportText == "retested: first reading 16.82 pF (outside the limits)"


def test_panel_of_four_boards() -> None:
    reports = convert(PB2939800)
    assert [r.sn for r in reports] == ["0610982638", "0610982639", "0610982637", "0610982636"]
    assert [r.uut.testSocketIndex for r in reports] == [1, 2, 3, 4]
    assert all(r.start == datetime.fromisoformat("2023-04-20T13:02:39+02:00") for r in reports)
    assert [len(steps(r)) for r in reports] == [75, 75, 75, 75]
    assert meas(reports[0], "U1 1-GP (P3V3-GND)") == (0.536, 0.4788, 0.5852, "GELE", "V", "P")
    assert meas(reports[1], "U11 4-GP (POW_RETURN-GND)")[0] == 1.138


def test_apt94xx_file_with_a_fixture_tag() -> None:
    (report,) = convert(APT_AT33, operator="night-shift")
    assert (report.sn, report.pn, report.machineName) == ("11111-BV0001", "DEMO-PANEL-C_V1", "FP1")
    assert report.uut.fixtureId == "AT33"
    assert report.uut.user == "night-shift"  # no operator in the file: the setting
    assert report.uut.testSocketIndex == 20
    assert report.start == datetime.fromisoformat("2024-01-01T08:00:00+01:00")  # DATE 01/01/24
    assert len(steps(report)) == 49
    assert meas(report, "R1 (EXPART-3)") == (4300.0, 3999.5, 4420.5, "GELE", "Ω", "P")
    assert meas(report, "C14* (EXPART-14)") == (3.19e-05, 2.6256e-05, 3.9384e-05, "GELE", "F", "P")
    assert meas(report, "C10 (EXPART-14)")[0] == 1.006e-07  # "100.6 nF"
    assert meas(report, "U1 P1-G (IC-MAIN-1)") == (0.619, 0.4976, 0.7464, "GELE", "V", "P")
    assert meas(report, "SHRT10 (#16-#7)") == (286.5, 100.0, None, "GT", "Ω", "P")
    # L1 is tested four times on the same nets: twice for a short, twice for an open
    assert meas(report, "L1 (EXPART-15)")[:4] == (0.47, 10.0, None, "LT")
    assert meas(report, "L1 (EXPART-15) [2]")[:4] == (0.56, 10.0, None, "LT")
    assert meas(report, "L1 (EXPART-15) [4]")[:4] == (230.9, 100.0, None, "GT")


def test_apt94xx_operator_comes_from_the_serial_line() -> None:
    (report,) = convert(APT_OP01, operator="ignored")
    assert (report.sn, report.uut.user, report.uut.fixtureId) == ("12345 - SN0001", "OP01", "FP1")
    assert len(steps(report)) == 865  # 875 rows, 10 jumper rows
    r386 = steps(report)["R386 (RES-10K-EX)"]
    assert meas(report, "R386 (RES-10K-EX)") == (7910.0, 7714.0, 8526.0, "GELE", "Ω", "P")
    assert r386.reportText == "retested: first reading 8.89 KO (outside the limits)"


def test_a_failed_board_keeps_the_tester_verdict_and_its_failed_step(tmp_path: Path) -> None:
    text = V682780.read_text()
    group2 = text.index("* GROUP No.2")
    head, tail = text[:group2], text[group2:]
    tail = tail.replace("* PASS *", "* FAIL *", 1)
    r17 = "PASS   \tR \t10000\t10.00\tKO\tR \t9950\t9.95\tKO"
    assert r17 in tail
    tail = tail.replace(r17, "FAIL   \tR \t10000\t10.00\tKO\tR \t9000\t9.00\tKO")
    path = tmp_path / "failed.ATD"
    path.write_text(head + tail)
    first, second = convert(path)
    assert (first.result, second.result) == ("P", "F")
    failed = [s.name for s in second.root.walk() if s.status == "F"]
    assert failed == ["MainSequence Callback", "Resistors", "R17 (GND-PWM_Red)"]
    assert meas(second, "R17 (GND-PWM_Red)") == (9000.0, 9900.0, 10100.0, "GELE", "Ω", "F")
    assert second.miscInfos is not None
    assert not any(m.description == "wats-converter note" for m in second.miscInfos)


def test_a_verdict_that_disagrees_with_the_steps_is_kept_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "odd.ATD"
    text = V682780.read_text()
    group2 = text.index("* GROUP No.2")
    path.write_text(text[:group2] + text[group2:].replace("* PASS *", "* FAIL *", 1))
    _, second = convert(path)
    assert second.result == "F"
    assert second.root.status == "P"
    notes = [m.text for m in second.miscInfos or [] if m.description == "wats-converter note"]
    assert notes == ["tester verdict Failed, but no step failed"]


def test_settings_for_part_number_revision_and_zone() -> None:
    first, _ = convert(
        V682780,
        model_pattern=r"^(?P<pn>[^_]+)_(?P<rev>[^_]+)_",
        sequence_version="7",
        timezone="UTC",
        process_code=42,
    )
    assert (first.pn, first.rev, first.processCode) == ("V682780", "B", 42)
    assert first.start == datetime.fromisoformat("2023-03-01T08:20:27+00:00")
    assert first.root.seqCall is not None and first.root.seqCall.version == "7"


def test_the_same_file_twice_gives_the_same_ids(tmp_path: Path) -> None:
    ids = [r.id for r in convert(PB2939800)]
    assert len(set(ids)) == 4
    assert [r.id for r in convert(PB2939800)] == ids
    # the id belongs to the board, not to the file's bytes: a copy with another name and
    # line ends gives the same ids
    copy = tmp_path / "copy.ATD"
    copy.write_bytes(PB2939800.read_bytes().replace(b"\n", b"\r\n"))
    assert [r.id for r in convert(copy)] == ids


def truncated(tmp_path: Path, age_s: float) -> Path:
    text = V682780.read_text()
    path = tmp_path / "cut.ATD"
    path.write_text(text[: text.index("02\t000080")])
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_a_file_still_being_written_is_retried(tmp_path: Path) -> None:
    with pytest.raises(RetryLater, match="closing '@'"):
        convert(truncated(tmp_path, age_s=1))


def test_an_old_truncated_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="truncated") as caught:
        convert(truncated(tmp_path, age_s=3600))
    assert caught.value.line == 102  # the last line written


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello,world\n1,2\n", "does not start with an '@'"),
        (b"@\n* PASS *\nD.T:1\nModel:X\nDATE 1/3/2023 08:20:27\n@\n@\n", "no '\\* GROUP"),
        (b"@\n* PASS *\nD.T:1\nModel:X\nrm -rf /\n@\n", "unexpected header line"),
        (b"\x00\x01\x02garbage\xff" * 50, "NUL bytes"),
    ],
    ids=["csv", "no-groups", "odd-header", "binary"],
)
def test_garbage_gives_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.ATD"
    path.write_bytes(content)
    with pytest.raises(ConversionError, match=message):
        convert(path)


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.ATD"
    text = V682780.read_text().replace("P2036764", "P2036764 \u00b5", 1)
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(ConversionError, match="not valid utf-8") as caught:
        convert(path, encoding="utf-8")
    assert caught.value.line == 22
    assert len(convert(path)) == 2  # auto: falls back to cp1252


def test_a_utf16_file_converts_like_the_original(tmp_path: Path) -> None:
    path = tmp_path / "utf16.ATD"
    path.write_bytes(V682780.read_text().encode("utf-16"))
    assert [r.to_dict() for r in convert(path)] == [r.to_dict() for r in convert(V682780)]


def test_an_unknown_function_code_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "code.ATD"
    text = APT_AT33.read_text().replace('0     0     "**"', '0     0     "ZZ"', 1)
    path.write_text(text)
    with pytest.raises(ConversionError, match="unknown function code 'ZZ'") as caught:
        convert(path)
    assert caught.value.line == 29


def test_a_row_cut_short_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.ATD"
    lines = V682780.read_text().split("\n")
    lines[20] = "\t".join(lines[20].split("\t")[:20])
    path.write_text("\n".join(lines))
    with pytest.raises(ConversionError, match="cut short") as caught:
        convert(path)
    assert caught.value.line == 21


def test_missing_reading_is_nan_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "nan.ATD"
    text = APT_AT33.read_text().replace('" 4.30 KO "', '"........"', 1)
    path.write_text(text)
    (report,) = convert(path)
    r1 = steps(report)["R1 (EXPART-3)"].numericMeas[0]  # type: ignore[index]
    assert r1.value is None and r1.lowLimit == 3999.5
    assert not math.isnan(r1.highLimit or 0)


def test_atd_files_are_recognised_by_content(tmp_path: Path) -> None:
    converter = TakayaConverter()
    assert converter.matches_file(V682780)
    renamed = tmp_path / "panel.txt"
    shutil.copy(APT_OP01, renamed)
    assert converter.matches_file(renamed)
    other = tmp_path / "other.txt"
    other.write_text("@\nnot a takaya file\n")
    assert not converter.matches_file(other)
    assert not converter.matches_file(tmp_path / "missing.txt")
    assert BUILTIN_CONVERTERS["TakayaConverter"] is TakayaConverter


def test_a_file_with_bot_and_top_blocks_gives_a_report_per_side(tmp_path: Path) -> None:
    # APT94xx writes a header and its groups per side; the samples hold one side each, so the
    # two-sided file is the two samples' blocks one after the other
    bot = APT_AT33.read_text().replace("DEMO-PANEL-C_V1.SWX2", "DEMO-PANEL-C_V1_BOT.SWX2")
    top = APT_AT33.read_text().replace("DEMO-PANEL-C_V1.SWX2", "DEMO-PANEL-C_V1_TOP.SWX2")
    top = top.replace("DATE 01/01/24 08:00:00", "DATE 01/01/24 08:05:00")
    path = tmp_path / "both.ATD"
    path.write_text(bot.rstrip("\n") + "\n" + top)
    bottom_side, top_side = convert(path)
    assert (bottom_side.pn, top_side.pn) == ("DEMO-PANEL-C_V1_BOT", "DEMO-PANEL-C_V1_TOP")
    assert bottom_side.sn == top_side.sn == "11111-BV0001"
    assert top_side.start == datetime.fromisoformat("2024-01-01T08:05:00+01:00")
    assert bottom_side.id != top_side.id
    assert len(steps(bottom_side)) == len(steps(top_side)) == 49


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("E", (4300.0, 4210.0, None, "LE", "Ω")),
        ("F", (4300.0, 4210.0, None, "GE", "Ω")),
        ("D", (4300.0, 3999.5, 4420.5, "LTGE", "Ω")),
    ],
)
def test_single_limit_and_outside_band_codes(
    tmp_path: Path, code: str, expected: tuple[object, ...]
) -> None:
    path = tmp_path / "codes.ATD"
    row = '"R1         " "4.7KO      " "EXPART-3              " 338   324   " 4.21 KO "'
    text = APT_AT33.read_text()
    start = text.index(row)
    end = text.index("\n", start)
    path.write_text(text[:start] + text[start:end].replace('"**"', f'"{code}"') + text[end:])
    (report,) = convert(path)
    assert meas(report, "R1 (EXPART-3)")[:5] == expected


def test_mega_ohm_and_nano_prefixes_are_base_units(tmp_path: Path) -> None:
    path = tmp_path / "prefix.ATD"
    text = APT_AT33.read_text().replace('" 4.21 KO " " 4.30 KO "', '" 4.21 MO " " 4.30 MO "')
    text = text.replace('"100.0 nF " "100.6 nF "', '"100.0 NF " "100.6 NF "')
    path.write_text(text)
    (report,) = convert(path)
    assert meas(report, "R1 (EXPART-3)")[:3] == (4.3e6, 3999500.0, 4420500.0)
    assert meas(report, "C10 (EXPART-14)")[:3] == (1.006e-07, 8e-08, 1.2e-07)


def test_an_unknown_unit_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "unit.ATD"
    path.write_text(APT_AT33.read_text().replace('" 4.30 KO "', '" 4.30 KQ "', 1))
    with pytest.raises(ConversionError, match="unknown unit 'KQ'") as caught:
        convert(path)
    assert caught.value.line == 29


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_the_limits_agree_with_every_judgement_in_the_samples(path: Path) -> None:
    for report in convert(path):
        texts = [s.reportText or "" for s in report.root.walk()]
        assert not [t for t in texts if "the tester judged" in t], report.sn
        assert not any(m.description == "wats-converter note" for m in report.miscInfos or [])


def test_a_start_in_the_dst_gap_is_noted_not_shifted_silently(tmp_path: Path) -> None:
    path = tmp_path / "dst.ATD"
    path.write_text(
        V682780.read_text().replace("DATE 1/3/2023 08:20:27", "DATE 26/3/2023 02:30:00")
    )
    first, _ = convert(path)
    # read with the offset before the change (a datetime in a gap never compares equal)
    assert first.to_dict()["start"] == "2023-03-26T02:30:00+01:00"
    notes = [m.text or "" for m in first.miscInfos or [] if m.description == "wats-converter note"]
    assert len(notes) == 1 and "DST gap in Europe/Oslo" in notes[0]


def test_a_file_cut_in_the_middle_of_a_row_is_retried_not_refused(tmp_path: Path) -> None:
    text = V682780.read_text()
    path = tmp_path / "half-row.ATD"
    path.write_text(text[: text.index("02\t000080") + 30])
    with pytest.raises(RetryLater):
        convert(path)


def test_a_bad_model_pattern_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="not a regular expression"):
        TakayaConverter({"model_pattern": "(unclosed"})
