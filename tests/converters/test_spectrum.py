"""SpectrumConverter on the real Spectrum result: header, sections, rescaled limits, hostile text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.converters.vendor import DATA, convert, notes, numeric, post, step, steps
from wats_converter.converters import ConversionError, RetryLater, unit_id
from wats_converter.converters.builtin import SpectrumConverter
from wats_converter.converters.builtin.spectrum_syntax import parse
from wats_converter.report import UUTReport
from wats_converter.server.fixture import ServerThread

SAMPLE = DATA / "teradyne-spectrum" / "sample_ict_data.txt"
TEXT = SAMPLE.read_text()


def line_of(text: str) -> int:
    return TEXT[: TEXT.index(text)].count("\n") + 1


def spectrum(**settings: object) -> SpectrumConverter:
    return SpectrumConverter({"timezone": "Europe/Oslo", **settings})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "board.txt"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def board() -> UUTReport:
    (report,) = convert(spectrum(), SAMPLE)
    return report


def test_the_board_header(board: UUTReport) -> None:
    assert (board.pn, board.sn, board.result, board.uut.user) == (
        "PB3187900",
        "1111111111",
        "P",
        "1234567",
    )
    assert board.start is not None and board.start.isoformat() == "2023-02-09T16:44:11+01:00"
    assert board.uut.execTime == pytest.approx(10.136)
    assert board.root.seqCall is not None and board.root.seqCall.version == "V2.0.0.0"
    assert [(m.description, m.text) for m in board.miscInfos or ()] == [
        ("Subprogram", "SubProgram-1"),
        ("Customer serial number", "AAAAAAAAAAA"),
        ("Order number", "222222222"),
    ]
    assert not notes(board)


def test_sections_are_sequences_and_steps_sub_sequences(board: UUTReport) -> None:
    assert [s.name for s in board.root.steps or ()] == [
        "Header",
        "DISCHARGE",
        "APC",
        "JUMPERS",
        "SHORTS",
        "CAPACITORS",
        "RESISTORS",
        "ZENERS",
        "Trailer",
        "DISCHARGE",
    ]
    cap = step(board, "CAP[C1]")
    assert cap.seqCall is not None and [s.name for s in cap.steps or ()] == ["C1"]
    assert cap.reportText == "CAPACITOR 4n7 TOP 3.326 2.831"
    assert cap.start is not None and cap.start.isoformat() == "2023-02-09T16:44:30+01:00"
    assert len(step(board, "SMDA05C[V101]").steps or ()) == 6
    assert sum(1 for _ in board.root.walk()) == 1038


def test_limits_are_rescaled_to_the_measurements_scale(board: UUTReport) -> None:
    assert numeric(board, "C1") == (4.6900024, 3.64, 5.76, "GELE", "nF", "P")
    # the low limit is written in nΩ, the reading in mΩ
    assert numeric(board, "FU1_IN") == (193.4001, 2.24e-06, 250.0, "GELE", "mΩ", "P")
    assert numeric(board, "R901") == (3.0073647, 2.85, 3.15, "GELE", "MΩ", "P")
    assert numeric(board, "L3") == (1.4330307, 5.0, None, "LE", "Ω", "P")
    assert numeric(board, "SMBJ33A[V6]_REV_V_1") == (38.324821, 36.7, 40.6, "GELE", "V", "P")
    assert step(board, "C1").reportText == "nominal 4.7 nF"


def test_tests_without_a_reading_are_pass_fail_with_their_limits(board: UUTReport) -> None:
    assert step(board, "C118_DSG").stepType == "ET_PFT"
    assert step(board, "C118_DSG").reportText == "high limit 30 mV"
    apc = [s for s in steps(board, "APC") if s.seqCall is None]
    assert apc[0].reportText == "resistance limit 1.25 MΩ, capacitance limit 100 pF"
    assert (
        steps(board, "POWEROFF")[-1].reportText
        == "All power supplies were turned off in reverse order."
    )


def test_the_report_is_accepted_by_the_server(server: ServerThread, board: UUTReport) -> None:
    assert post(server, [board]) == [200]


def test_the_id_is_stable(board: UUTReport) -> None:
    assert board.id == unit_id("SpectrumConverter", "1111111111", "2023-02-09T16:44:11+01:00", 0)
    assert convert(spectrum(), SAMPLE)[0].id == board.id


def test_a_file_being_written_is_waited_for(tmp_path: Path, board: UUTReport) -> None:
    cut = TEXT.index("(USER:  STATUS")
    for end in (0, 40, len(TEXT) // 2, cut, cut + 20):
        with pytest.raises(RetryLater, match="STATUS"):
            convert(spectrum(), write(tmp_path, TEXT[:end]))
    assert convert(spectrum(), write(tmp_path, TEXT))[0].id == board.id


def test_a_file_of_two_boards_and_the_second_one_being_written(
    tmp_path: Path, board: UUTReport
) -> None:
    second = TEXT.replace("Serialnumber:1111111111", "Serialnumber:2222222222")
    reports = convert(spectrum(), write(tmp_path, TEXT + "\n" + second))
    assert [r.sn for r in reports] == ["1111111111", "2222222222"]
    assert reports[0].id == board.id and reports[1].id != board.id
    growing = write(tmp_path, TEXT + "\n" + second[: len(second) // 2])
    with pytest.raises(RetryLater):
        convert(spectrum(), growing)
    assert [r.id for r in convert(spectrum(convert_before_end=True), growing)] == [board.id]


def test_a_failed_board_and_a_verdict_the_steps_contradict(tmp_path: Path) -> None:
    c1 = TEXT.index('(PAGE_NAME: "C1")')
    failed_c1 = TEXT[:c1] + TEXT[c1:].replace("(STAT: PASS)", "(STAT: FAIL)", 3)
    failed = convert(
        spectrum(), write(tmp_path, failed_c1.replace("BOARD PASSED", "BOARD FAILED"))
    )[0]
    assert failed.result == "F"
    failures = [(s.name, s.stepType) for s in failed.root.walk() if s.status == "F"]
    assert failures == [
        ("MainSequence Callback", "SequenceCall"),
        ("CAPACITORS", "SequenceCall"),
        ("CAP[C1]", "SequenceCall"),
        ("C1", "ET_NLT"),
    ]
    assert numeric(failed, "C1")[-1] == "F"
    contradicted = convert(spectrum(), write(tmp_path, failed_c1))[0]
    assert contradicted.result == "P"
    assert notes(contradicted) == ["tester verdict Passed, but a step is Failed"]


def test_settings_fill_what_the_file_lacks(tmp_path: Path) -> None:
    text = TEXT.replace("(USER:  version: V2.0.0.0)", "").replace("(USER:  Operator:1234567)", "")
    report = convert(
        spectrum(revision="C", operator="op9", sequence_version="7"), write(tmp_path, text)
    )[0]
    assert (report.rev, report.uut.user) == ("C", "op9")
    assert report.root.seqCall is not None and report.root.seqCall.version == "7"


def test_the_reader_keeps_parentheses_and_quotes_that_are_text() -> None:
    nodes, finished = parse('(PROG_NAME: C:\\Program Files (x86)\\a.exe) (COMMENT: "a (b) c")\n')
    assert finished and [(n.key, n.text) for n in nodes] == [
        ("PROG_NAME", "C:\\Program Files (x86)\\a.exe"),
        ("COMMENT", "a (b) c"),
    ]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("this is not a Spectrum file\n", "text outside a (KEY: ...) expression", 1),
        ("(PROGRAM_NAME: x)\n" + "(A: " * 100 + ")" * 100 + "\n", "nested deeper than 32", 2),
        ('(PROGRAM_NAME: "x")\n(x y z)\n', "expected `(KEY:`", 2),
        ("(SECTION_NAME: x)\n(USER: STATUS: BOARD PASSED)\n", "before the first (PROGRAM_NAME", 1),
        (TEXT.replace("(USER:  Serialnumber:1111111111)", ""), "no (USER: Serialnumber", 1),
        (TEXT.replace("BOARD PASSED", "BOARD MAYBE"), "expected BOARD PASSED", 7898),
        (
            TEXT.replace("(VAL: 4.6900024)", "(VAL: 4.6.9)", 1),
            "is not a number",
            line_of("(MEASVAL: (VAL: 4.6900024)"),
        ),
        (TEXT.replace("(SCALE: n)", "(SCALE: q)", 1), "is not an SI prefix", line_of("(SCALE: n)")),
        (
            TEXT.replace("(STAT: PASS)", "(STAT: MEH)", 1),
            "expected PASS or FAIL",
            line_of("(PAGE:"),
        ),
    ],
)
def test_broken_and_hostile_files_give_one_clear_error(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    with pytest.raises(ConversionError, match=re.escape(message)) as caught:
        convert(spectrum(), write(tmp_path, text))
    assert caught.value.line == line


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "board.txt"
    path.write_bytes(b"(PROGRAM_NAME: x)\x00\x01\x02" * 10)
    with pytest.raises(ConversionError, match="NUL"):
        convert(spectrum(), path)
