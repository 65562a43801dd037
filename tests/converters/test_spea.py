"""SPEAConverter on the real SPEA 3030 log: ten runs, NaN readings, open limits, streaming."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import pytest

from tests.converters.vendor import DATA, convert, error_line, notes, numeric, post, step
from wats_converter.converters import ConversionError, RetryLater, unit_id
from wats_converter.converters.builtin import SPEAConverter
from wats_converter.report import UUTReport
from wats_converter.server.fixture import ServerThread

SAMPLE = DATA / "spea-3030" / "testdata_SN9871234012.csv"
SN = "SN9871234012"
STARTS = [
    "16:15:03",
    "16:15:29",
    "16:15:56",
    "16:16:21",
    "16:18:24",
    "16:18:46",
    "16:19:12",
    "16:19:34",
    "16:19:57",
    "16:22:03",
]


def spea(**settings: object) -> SPEAConverter:
    return SPEAConverter({"timezone": "Europe/Oslo", **settings})


@pytest.fixture(scope="module")
def reports() -> list[UUTReport]:
    return convert(spea(), SAMPLE)


def first_run_lines() -> list[str]:
    lines = SAMPLE.read_text().splitlines(keepends=True)
    return lines[: next(i for i, line in enumerate(lines) if line.startswith("END;")) + 1]


def test_every_run_is_one_report_with_the_testers_verdict(reports: list[UUTReport]) -> None:
    assert len(reports) == 10
    assert {r.sn for r in reports} == {SN}
    assert [r.result for r in reports] == ["F"] * 9 + ["P"]
    assert [r.start.isoformat() for r in reports] == [f"2024-10-12T{t}+02:00" for t in STARTS]
    assert [r.uut.execTime for r in reports[:3]] == [19.0, 20.0, 19.0]
    assert {(r.pn, r.uut.user) for r in reports} == {("23462-TS", "Test Operator op1")}
    assert reports[0].root.seqCall is not None
    assert (reports[0].root.seqCall.path, reports[0].root.seqCall.version) == ("23462-TS", "1.0.2")
    assert [sum(1 for _ in r.root.walk()) for r in reports[:2]] == [1319, 1319]


def test_the_passed_run_with_failed_discharge_checks_keeps_its_verdict_with_a_note(
    reports: list[UUTReport],
) -> None:
    last = reports[-1]
    assert last.result == "P"
    assert notes(last) == ["tester verdict Passed, but a step is Failed"]
    failed = [s.name for s in last.root.walk() if s.status == "F" and not s.steps]
    assert set(failed) == {
        f"DSC-{ref} Check capacitor voltage > |0.05V|"
        for ref in ("CP[C109]", "CP[C120]", "C241", "CP[C266]", "CP[C267]", "CP[C79]", "CP[C123]")
    }


def test_failed_steps_of_a_failed_run(reports: list[UUTReport]) -> None:
    first = reports[0]
    failed = [s.name for s in first.root.walk() if s.status == "F" and not s.steps]
    assert failed == [
        "CAPC332 1nF 10% -10%",
        "DSC-CP[C128] Check capacitor voltage > |0.05V|",
        "DSC-C241 Check capacitor voltage > |0.05V|",
        "DSC-CP[C273] Check capacitor voltage > |0.05V|",
    ]
    assert not notes(first)


def test_nan_reading_has_no_value_and_fails(reports: list[UUTReport]) -> None:
    c332 = step(reports[0], "CAPC332 1nF 10% -10%")
    assert numeric(reports[0], "CAPC332 1nF 10% -10%") == (
        None,
        8.5e-10,
        1.15e-09,
        "GELE",
        "F",
        "F",
    )
    assert "NaN" in (c332.reportText or "")


def test_limits_of_zero_are_open_sides(reports: list[UUTReport]) -> None:
    run = reports[0]
    # low 0: LE high; a reading with both limits: GELE in ohms
    assert numeric(run, "LNK2TP $$SIGNAL1 387-1106") == (1.085938, 10.0, None, "LE", "Ω", "P")
    assert numeric(run, "DSC-CP[C109] Verify capacitor discharge") == (
        -0.00090625,
        -0.1,
        0.1,
        "GELE",
        "V",
        "P",
    )
    r562 = numeric(reports[8], "RESR562 1K 1% -1% Mounted!")  # run 9 failed on R562
    assert r562 == (164271.0, 200000.0, 1e10, "GELE", "Ω", "F")
    # high 0: GE low (the functional rows)
    last = reports[-1]
    assert numeric(last, "CAN-Initialisierung") == (1.0, 1.0, None, "GE", None, "P")
    # both 0 and no reading: a pass/fail step; a word instead of a reading: pass/fail with it
    assert step(run, "ADA_POS_ICT").stepType == "ET_PFT"
    assert step(run, "SHO-LowRes-LowCap").reportText == "Automatic"


def test_steps_are_grouped_by_component_class_and_test(reports: list[UUTReport]) -> None:
    run = reports[0]
    assert [s.name for s in run.root.steps or ()] == [
        "Other",
        "Capacitors",
        "Connectors",
        "Jumpers",
        "Inductors",
        "Resistors",
        "Switches",
        "Semiconductors",
        "Integrated circuits",
    ]
    discharge = step(run, "DSC-CP[C109]")
    assert discharge.seqCall is not None and [s.name for s in discharge.steps or ()] == [
        "DSC-CP[C109] Connect Scanner",
        "DSC-CP[C109] Check capacitor voltage > |0.05V|",
        "DSC-CP[C109] Verify capacitor discharge",
    ]


def test_every_report_is_accepted_by_the_server(
    server: ServerThread, reports: list[UUTReport]
) -> None:
    assert post(server, reports) == [200] * 10
    assert server.store.count() == 10


def test_part_number_and_revision_come_from_settings() -> None:
    reports = convert(spea(part_number="PCBA-23462", revision="B", operator="x"), SAMPLE)
    assert {(r.pn, r.rev, r.uut.user) for r in reports} == {
        ("PCBA-23462", "B", "Test Operator op1")
    }


def test_ids_are_stable_per_run_and_do_not_change_as_the_file_grows(
    tmp_path: Path, reports: list[UUTReport]
) -> None:
    assert reports[3].id == unit_id("SPEAConverter", SN, "2024-10-12T16:16:21+02:00", 3)
    lines = SAMPLE.read_text().splitlines(keepends=True)
    ends = [i for i, line in enumerate(lines) if line.startswith("END;")]
    path = tmp_path / "growing.csv"
    path.write_text("".join(lines[: ends[2] + 1]))
    assert [r.id for r in convert(spea(), path)] == [r.id for r in reports[:3]]
    path.write_text("".join(lines[: ends[2] + 40]))  # the fourth run is being written
    with pytest.raises(RetryLater, match="END line"):
        convert(spea(), path)
    assert [r.id for r in convert(spea(convert_before_end=True), path)] == [
        r.id for r in reports[:3]
    ]
    path.write_text("".join(lines[: ends[2]]) + lines[ends[2]][:12])  # END line cut mid-way
    assert [r.id for r in convert(spea(convert_before_end=True), path)] == [
        r.id for r in reports[:2]
    ]


def test_day_first_dates_and_a_bom(tmp_path: Path) -> None:
    text = "".join(first_run_lines()).replace("FORMAT;mmdd", "FORMAT;ddmm")
    path = tmp_path / "ddmm.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    (report,) = convert(spea(), path)
    assert report.start is not None and report.start.isoformat() == "2024-12-10T16:15:03+01:00"
    path.write_text(text, encoding="utf-16")
    assert [r.sn for r in convert(spea(), path)] == [SN]


def test_memory_does_not_grow_with_the_file_when_reports_are_consumed(tmp_path: Path) -> None:
    run = "".join(first_run_lines())
    peaks = []
    for runs in (2, 8):
        path = tmp_path / f"{runs}.csv"
        path.write_text(run * runs)
        tracemalloc.start()
        count = sum(1 for _ in spea().iter_reports(path))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert count == runs
    assert peaks[1] < peaks[0] * 1.5, peaks  # four times the file, not four times the memory


def line(text: str) -> str:
    return (
        "FORMAT;mmdd\nSTART;P;S;1;S;op;10/12/2024;16:15:03\n"
        + text
        + "SN;1\nEND;PASS;10/12/2024;16:15:04\n"
    )


@pytest.mark.parametrize(
    ("text", "message", "number"),
    [
        ("garbage,garbage\n", "not a SPEA 3030 log", 1),
        (line("ANL;1;R1;1;1;R1;;PASS;1.0x;0;2;ohm;;1\n"), "'1.0x' is not a number", 3),
        (line("ANL;1;R1;1;1;R1;;MAYBE;1.0;0;2;ohm;;1\n"), "expected PASS or FAIL", 3),
        (line("ANL;1;R1;1\n"), "at least 11 fields", 3),
        (line("ANL;1;R1;1;1;R1;;PASS;1.0;-NAN;2;ohm;;1\n"), "low limit '-NAN' is not a number", 3),
        (line("XYZ;1\n"), "unknown SPEA record", 3),
        (line("").replace("SN;1\n", ""), "has no SN line", 3),
        ("START;P;S\n", "START needs", 1),
        ("FORMAT;yymm\n", "expected mmdd or ddmm", 1),
        (line("ANL;1;R1;1;1;R1;;PASS;1.0;0;2;ohm;;1\x00\n"), "NUL bytes", 3),
        (line("ANL;" + "x" * 70_000 + "\n"), "longer than", 3),
    ],
)
def test_broken_files_give_one_clear_error(
    tmp_path: Path, text: str, message: str, number: int
) -> None:
    assert error_line(spea(), tmp_path / "bad.csv", text, message) == number


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="max_file_size_bytes"):
        convert(spea(max_file_size_bytes=1_000_000), SAMPLE)


def test_an_empty_file_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(RetryLater):
        convert(spea(), path)


def test_no_value_is_ever_a_fake_number(reports: list[UUTReport]) -> None:
    values = [m.value for r in reports for s in r.root.walk() for m in s.numericMeas or ()]
    assert all(v is None or math.isfinite(v) for v in values)
    assert values.count(None) == 9  # the nine -NAN readings of C332
