"""GR228XConverter on the real GR228X log: boards, verdicts, readings, failures, growing logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.converters.vendor import DATA, convert, error_line, notes, numeric, post, step, steps
from wats_converter.converters import ConversionError, RetryLater, SkipFile, unit_id
from wats_converter.converters.builtin import GR228XConverter
from wats_converter.server.fixture import ServerThread

SAMPLE = DATA / "teradyne-gr228x" / "43420_BIO2.LOG"
SERIALS = ["65428553938829725787", "24422984989544535753", "42842937739687688567"]
OHM = "Ω"


def gr228x(**settings: object) -> GR228XConverter:
    return GR228XConverter({"timezone": "Europe/Oslo", **settings})


def write(tmp_path: Path, text: str, name: str = "t.LOG") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_board_of_the_session_is_one_report_with_the_testers_verdict() -> None:
    reports = convert(gr228x(), SAMPLE)
    assert [r.sn for r in reports] == SERIALS
    assert [r.result for r in reports] == ["T", "F", "P"]
    assert {r.pn for r in reports} == {"43420"}
    assert [r.start.isoformat() for r in reports if r.start] == [
        "2012-07-31T14:18:51+02:00",
        "2012-07-31T14:19:32+02:00",
        "2012-07-31T14:25:12+02:00",
    ]
    assert [r.uut.execTime for r in reports] == [2.0, 17.0, 16.0]
    assert all(
        r.root.seqCall and r.root.seqCall.path == r"F:\BOARDS\43420_BIO2_PROGRAM\43420_BIO2.obc"
        for r in reports
    )
    assert [sum(1 for _ in r.root.walk()) for r in reports] == [4, 52, 55]
    assert not any(notes(r) for r in reports)  # every verdict agrees with the steps


def test_readings_are_in_base_units_with_their_limits_and_operator() -> None:
    failed = convert(gr228x(), SAMPLE)[1]
    assert numeric(failed, "R508") == (100200.07, 92919.0, 105131.0, "GELE", OHM, "P")
    # MEG is mega, an empty high limit leaves that side open: GE with the limit in lowLimit
    assert numeric(failed, "R402") == (45131532.0, 500000.0, None, "GE", OHM, "P")
    assert numeric(failed, "C206") == (1.0212763e-08, 7.999999e-09, 1.2000001e-08, "GELE", "F", "P")
    # M is milli on a GR228X
    assert numeric(failed, "V230") == (0.520747483, 0.474999994, 0.954999983, "GELE", "V", "P")
    relay = [s.numericMeas[0] for s in steps(failed, "K500_RLY1_NO") if s.numericMeas]
    assert [(m.value, m.lowLimit, m.highLimit) for m in relay] == [
        (2.000115, 1.5, 2.5),
        (0.062061187, -0.5, 0.5),
    ]


def test_logged_only_readings_are_done_and_valueless_lines_pass_fail() -> None:
    failed = convert(gr228x(), SAMPLE)[1]
    logged = steps(failed, "R211")[0]
    assert logged.status == "D" and numeric(failed, "R211")[:4] == (10.636159, None, None, "LOG")
    assert step(failed, "SETCR").status == "D" and step(failed, "SETCR").stepType == "Action"
    assert step(failed, "D103_B1").stepType == "ET_PFT" and step(failed, "D103_B1").status == "P"
    assert step(failed, "PS_OFF").reportText == "limits (1.6, 5.5)"


def test_failure_lines_are_failed_steps_listing_their_nodes() -> None:
    terminated, failed, _ = convert(gr228x(), SAMPLE)
    fixture = step(terminated, "Fixture")
    assert [(s.name, s.status, s.reportText) for s in fixture.steps or ()] == [
        ("Fixture failure", "F", "nodes: 300, 301, 303"),
        (
            "Fixture failure",
            "F",
            "nodes: 90, 156, 172, 176, 186, 187, 189, 200, 201, 202, 204, 237, 238, 239, 248, "
            "254, 255, 256",
        ),
    ]
    assert [(s.name, s.status, s.reportText) for s in steps(failed, "Open")] == [
        ("Open", "F", "nodes: 397, 398")
    ]


def test_steps_are_grouped_by_component_class() -> None:
    passed = convert(gr228x(), SAMPLE)[2]
    assert [s.name for s in passed.root.steps or ()] == [
        "Resistors",
        "Capacitors",
        "Other",
        "Semiconductors",
        "Relays",
        "Diodes",
    ]
    assert all(s.name.startswith("R") for s in passed.root.steps[0].steps or ())  # type: ignore[index]


def test_every_report_is_accepted_by_the_server(server: ServerThread) -> None:
    reports = convert(gr228x(), SAMPLE)
    assert post(server, reports) == [200, 200, 200]
    assert server.store.serial_counts() == dict.fromkeys(SERIALS, 1)


def test_ids_are_stable_per_board_from_serial_start_and_index() -> None:
    first, again = convert(gr228x(), SAMPLE), convert(gr228x(), SAMPLE)
    assert [r.id for r in first] == [r.id for r in again]
    assert first[2].id == unit_id("GR228XConverter", SERIALS[2], "2012-07-31T14:25:12+02:00", 2)


def test_a_log_that_grows_board_by_board_waits_for_the_session_end(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines(keepends=True)
    full = {r.sn: r.id for r in convert(gr228x(), SAMPLE)}
    path = tmp_path / "growing.LOG"
    for end in range(len(lines)):
        path.write_text("".join(lines[:end]))
        with pytest.raises(RetryLater, match="session end line"):
            convert(gr228x(), path)
    path.write_text("".join(lines[:-1]) + lines[-1].rstrip("\n"))  # `]` without its newline
    assert {r.sn: r.id for r in convert(gr228x(), path)} == full


def cuts_through_every_line(text: str) -> list[int]:
    """Where a writer may have stopped: at each line's end, and one, half and all but one of
    its characters in (every byte would convert the log thousands of times)."""
    cuts: set[int] = set()
    start = 0
    for line in text.splitlines(keepends=True):
        end = start + len(line)
        cuts.update({start + 1, (start + end) // 2, end - 1, end})
        start = end
    return sorted(c for c in cuts if 0 < c < len(text))


def test_converting_before_the_session_end_gives_finished_boards_under_their_final_ids(
    tmp_path: Path,
) -> None:
    text = SAMPLE.read_text()
    full = {r.sn: r.id for r in convert(gr228x(), SAMPLE)}
    path = tmp_path / "growing.LOG"
    seen: list[list[str]] = []
    for cut in cuts_through_every_line(text):
        path.write_text(text[:cut])
        try:
            reports = convert(gr228x(convert_before_end=True), path)
        except RetryLater:
            continue
        assert all(full[r.sn] == r.id for r in reports)
        serials = [r.sn for r in reports]
        if not seen or seen[-1] != serials:
            seen.append(serials)
    # board 1 appears with its `?` line, board 2 with `/`, board 3 with `"`
    assert seen == [SERIALS[:1], SERIALS[:2], SERIALS]


def test_extension_lines_and_panel_positions_override_the_header(tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace(
        "14:17:35\n",
        "14:17:35\nWATS_partNumber=PCBA-43420\nWATS_partRevision=C\nWATS_operator=alice\n"
        "WATS_sequenceVersion=2.1\nWATS_stationName=ICT-7\nTOP_OF_LOOP-C\n",
        1,
    )
    reports = convert(gr228x(revision="A", operator="bob"), write(tmp_path, text))
    first = reports[0]
    assert (first.pn, first.rev, first.uut.user, first.machineName) == (
        "PCBA-43420",
        "C",
        "alice",
        "ICT-7",
    )
    assert first.root.seqCall is not None and first.root.seqCall.version == "2.1"
    assert [r.uut.testSocketIndex for r in reports] == [2, 2, 2]


def test_an_extension_line_between_boards_changes_only_the_boards_after_it(
    tmp_path: Path,
) -> None:
    text = SAMPLE.read_text().replace(
        "?31-JUL-12  14:18:53\n", "?31-JUL-12  14:18:53\nWATS_operator=carol\nTOP_OF_LOOP-B\n"
    )
    reports = convert(gr228x(), write(tmp_path, text))
    assert [r.uut.user for r in reports] == ["oper", "carol", "carol"]
    assert [r.uut.testSocketIndex for r in reports] == [None, 1, 1]
    assert [r.id for r in reports] == [r.id for r in convert(gr228x(), SAMPLE)]


def test_settings_fill_what_the_log_lacks(tmp_path: Path) -> None:
    reports = convert(
        gr228x(
            part_number_pattern="",
            part_number="PN-1",
            revision="B",
            operator="op7",
            sequence_version="1.0",
        ),
        SAMPLE,
    )
    assert {(r.pn, r.rev, r.uut.user) for r in reports} == {("PN-1", "B", "op7")}


def test_failed_readings_and_a_verdict_the_steps_contradict(tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace("R508=100.119586K", "R508>120.5K", 1)
    passed = convert(gr228x(), write(tmp_path, text))[2]
    assert passed.result == "P"  # the tester's verdict is kept...
    assert numeric(passed, "R508") == (120500.0, 92919.0, 105131.0, "GELE", OHM, "F")
    assert notes(passed) == ["tester verdict Passed, but a step is Failed"]  # ...and questioned


def test_several_sessions_and_a_board_without_its_end_line(tmp_path: Path) -> None:
    text = SAMPLE.read_text()
    second = text.replace("SN 4284", "SN 9999").replace('"31-JUL-12  14:25:28\n', "")
    reports = convert(gr228x(), write(tmp_path, text + second))
    assert len(reports) == 6
    last = reports[-1]
    assert (last.sn, last.result) == ("99992937739687688567", "T")
    assert notes(last) == ["no end line for this board (the session ended, line 207): terminated"]
    assert len({r.id for r in reports}) == 6


def test_a_log_of_only_empty_terminated_boards_is_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "P:\\X_1.obc[01-JAN-20  10:00:00\n@01-JAN-20  10:00:01 SN 1\n?01-JAN-20  10:00:02\n]01-JAN-20  10:00:03\n",
    )
    with pytest.raises(SkipFile):
        convert(gr228x(), path)
    assert convert(gr228x(skip_empty_terminated=False), path)[0].result == "T"


HEADER = "P:\\X_1.obc[01-JAN-20  10:00:00\n@01-JAN-20  10:00:01 SN 1\n"
END = '"01-JAN-20  10:00:02\n]01-JAN-20  10:00:03\n'


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("this is not a tester log\n", "not a GR228X log line", 1),
        ("R1=1K(1K,2K)R\n", "outside a board", 1),
        (HEADER + "R1=1.2X(1K,2K)R\n" + END, "not a number with an optional SI prefix", 3),
        (HEADER.replace(" SN 1", "") + END, "without a serial number", 2),
        (HEADER.replace("01-JAN-20  10:00:01", "41-JAN-20  10:00:01") + END, "is not a time", 2),
        (HEADER + "R1=1K(1K,2K)R\x00\n" + END, "NUL bytes", 3),
        ('"01-JAN-20  10:00:02\n', "outside a program session", 1),
    ],
)
def test_broken_logs_give_one_clear_error(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    assert error_line(gr228x(), tmp_path / "bad.LOG", text, message) == line


def test_an_empty_or_huge_log(tmp_path: Path) -> None:
    with pytest.raises(RetryLater):
        convert(gr228x(), write(tmp_path, ""))
    huge = write(tmp_path, SAMPLE.read_text() * 20, "huge.LOG")
    with pytest.raises(ConversionError, match="max_file_size_bytes"):
        convert(gr228x(max_file_size_bytes=10_000), huge)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252"])
def test_station_encodings_are_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "enc.LOG"
    path.write_text(SAMPLE.read_text().replace("SN 4284", "SN Ø4284"), encoding=encoding)
    assert convert(gr228x(), path)[2].sn == "Ø42842937739687688567"
