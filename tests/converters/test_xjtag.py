"""XJTAGConverter on the real XJTAG logs (tests/data/xjtag, see SOURCES.md) and hostile archives."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from tests.converters.vendor import post_checked
from tests.faults.hostile_xml import BILLION_LAUGHS, EXTERNAL
from wats_converter.converters import ArchiveLimits, check_member_name, read_members, unit_id
from wats_converter.converters.builtin import BUILTIN_CONVERTERS, XJTAGConverter
from wats_converter.errors import ConversionError
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import UUTReport
from wats_converter.server.fixture import ServerThread

DATA = Path(__file__).parent.parent / "data" / "xjtag"
DEMO = DATA / "Demonstration hardware--28_10_2019.xjlog"
PASS_1234 = DATA / "1234_14_25_32_10.08.2018_Pass.xjlog"
LUMI = DATA / "55804022_XJT_2019-06-20_12-55-57_lumi_Pass.xjlog"
SAMPLES = [DEMO, PASS_1234, LUMI]


def convert(path: Path, **settings: object) -> list[UUTReport]:
    return convert_path(XJTAGConverter(settings), path).reports


def functions(report: UUTReport) -> list[tuple[str, str, str | None]]:
    """(group, function, status) of every test function, in order."""
    return [
        (group.name, step.name, step.status)
        for group in report.root.steps or []
        for step in group.steps or []
    ]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_sample_converts_validates_and_posts(path: Path, server: ServerThread) -> None:
    post_checked(server, convert(path))


def test_six_runs_give_six_boards_with_their_verdicts() -> None:
    reports = convert(DEMO)
    assert [r.sn for r in reports] == ["10001", "1002", "10004", "10003", "10006", "10005"]
    assert [r.result for r in reports] == ["F", "P", "F", "F", "F", "P"]
    assert [r.machineName for r in reports] == ["OriginalXJLink", "XJLink2"] * 3
    assert [r.uut.execTime for r in reports] == [14.806, 30.869, 26.881, 39.513, 24.164, 35.337]
    first = reports[0]
    assert first.start == datetime.fromisoformat("2019-10-28T13:52:10.859400+00:00")
    assert (first.pn, first.rev, first.uut.user) == ("demo", "", "a")
    assert first.uut.comment == "Demonstration hardware"
    assert first.root.seqCall is not None and first.root.seqCall.name == "demo.xjp"
    assert first.miscInfos and (first.miscInfos[0].description, first.miscInfos[0].text) == (
        "XJLink serial",
        "2179",
    )
    assert functions(first) == [
        ("Serial Number", "NEW_SERIAL_NUMBER", "P"),
        ("Check Chain", "CheckChain", "F"),
    ]
    check_chain = first.root.steps[1].steps[0]  # type: ignore[index]
    assert check_chain.stepType == "ET_PFT"
    assert check_chain.reportText is not None
    assert check_chain.reportText.startswith("Checking the integrity of the JTAG chain.\nError: ")
    assert "CheckChain failed" in check_chain.reportText
    failed = [(g, f) for g, f, status in functions(reports[2]) if status == "F"]
    assert failed == [("Connection Test", "CONNTEST"), ("LED Tests", "D2.Test")]
    assert len(functions(reports[2])) == 14


def test_single_run_logs() -> None:
    (report,) = convert(PASS_1234)
    assert (report.sn, report.result, report.uut.user) == ("1234", "P", "ADMINISTRATOR")
    assert report.machineName == "wats-converter"  # empty xjlink-name: the station's name
    assert report.uut.execTime == 45.583  # "45,583" in the summary
    assert len(report.root.steps or []) == 12 and len(functions(report)) == 19
    assert report.root.reportText is not None
    assert report.root.reportText.startswith("Warning: IC3.TestDestructive skipped")
    (lumi,) = convert(LUMI)
    assert (lumi.sn, lumi.pn, lumi.uut.user) == ("55804022", "BA-852-978T-ISS-03AB", "lumi")
    assert lumi.uut.execTime == 100.307  # "1:40.307"
    assert lumi.start == datetime.fromisoformat("2019-06-20T11:55:57.446036+00:00")
    assert len(lumi.root.steps or []) == 18 and len(functions(lumi)) == 35


def test_part_number_revision_and_process_from_settings() -> None:
    report = convert(DEMO, part_number="PCBA-77", revision="C", process_code=260)[1]
    assert (report.pn, report.rev, report.processCode) == ("PCBA-77", "C", 260)


def test_ids_are_stable_and_per_run() -> None:
    reports = convert(DEMO)
    assert [r.id for r in convert(DEMO)] == [r.id for r in reports]
    # runs 5 and 6 started in the same instant: the run number tells them apart
    assert reports[4].id != reports[5].id
    stamp = "2019-10-28T13:52:10.8594008Z"
    assert reports[0].id == unit_id("XJTAGConverter", "10001", stamp, 1)
    assert BUILTIN_CONVERTERS["XJTAGConverter"] is XJTAGConverter


def sample_members(path: Path = DEMO) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_a_run_id_in_the_file_wins(tmp_path: Path) -> None:
    members = sample_members(PASS_1234)
    members["Run 1.xml"] = members["Run 1.xml"].replace(
        b"<testrun ", b'<testrun id="0b7c55c2-8e3e-4f4c-9d67-0a3a1b8e2f10" ', 1
    )
    (report,) = convert(write_zip(tmp_path / "id.xjlog", members))
    assert str(report.id) == "0b7c55c2-8e3e-4f4c-9d67-0a3a1b8e2f10"


def bomb(path: Path) -> Path:
    members = sample_members(PASS_1234)
    members["Run 1.xml"] = members["Run 1.xml"] + b" " * (20 * 1024 * 1024)
    return write_zip(path, members)


def many(path: Path) -> Path:
    return write_zip(path, {**sample_members(), **{f"x/{i}.txt": b"" for i in range(1001)}})


def damaged(path: Path) -> Path:
    data = PASS_1234.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def garbled(path: Path) -> Path:
    """The central directory intact, a member's compressed bytes overwritten."""
    data = bytearray(DEMO.read_bytes())
    with zipfile.ZipFile(DEMO) as z:
        info = z.getinfo("Run 3.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + 40
    data[start : start + 200] = bytes(200)
    path.write_bytes(bytes(data))
    return path


def replaced(name: str, data: bytes) -> object:
    def build(path: Path) -> Path:
        return write_zip(path, {**sample_members(PASS_1234), name: data})

    return build


def without_info(path: Path) -> Path:
    members = sample_members()
    del members["Info.xml"]
    return write_zip(path, members)


def without_run(path: Path) -> Path:
    members = sample_members()
    del members["Run 4.xml"]
    return write_zip(path, members)


def text_file(path: Path) -> Path:
    path.write_text("this is not a zip\n")
    return path


def entity_bomb(path: Path) -> Path:
    return write_zip(path, {**sample_members(PASS_1234), "Run 1.xml": BILLION_LAUGHS.encode()})


def external_entity(path: Path) -> Path:
    return write_zip(path, {**sample_members(PASS_1234), "Run 1.xml": EXTERNAL.encode()})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (text_file, "not a ZIP archive"),
        (damaged, "not a ZIP archive"),
        (garbled, "Run 3.xml' is damaged"),
        (bomb, "zip bomb"),
        (many, "1014 entries, more than the limit of 1000"),
        (replaced("../evil.xml", b"x"), "points outside the archive"),
        (replaced("/etc/evil.xml", b"x"), "absolute path"),
        (replaced("C:\\evil.xml", b"x"), "absolute path"),
        (without_info, "no Info.xml"),
        (without_run, "Info.xml says 6 runs, the archive holds 5"),
        (entity_bomb, "refused unsafe XML"),
        (external_entity, "refused unsafe XML"),
        (replaced("Run 1.xml", b"<testrun datetime='x'><testruninfo/>"), "not well-formed"),
        (replaced("Run 1.xml", b"<testrun datetime='yesterday'/>"), "not an ISO-8601 time"),
    ],
    ids=[
        "not-a-zip",
        "truncated-zip",
        "damaged-member",
        "zip-bomb",
        "too-many-entries",
        "dotdot-name",
        "absolute-name",
        "drive-name",
        "missing-info",
        "missing-run",
        "entity-bomb",
        "external-entity",
        "bad-xml",
        "bad-time",
    ],
)
def test_hostile_and_broken_archives_give_one_clear_error(
    tmp_path: Path, build: object, message: str
) -> None:
    path = build(tmp_path / "bad.xjlog")  # type: ignore[operator]
    with pytest.raises(ConversionError, match=message):
        convert(path)


def test_an_unknown_function_result_is_refused(tmp_path: Path) -> None:
    members = sample_members(PASS_1234)
    members["Run 1.xml"] = members["Run 1.xml"].replace(
        b'<result value="Passed" />', b'<result value="Maybe" />', 1
    )
    with pytest.raises(ConversionError, match="'Maybe', expected one of"):
        convert(write_zip(tmp_path / "r.xjlog", members))


def test_read_members_reads_only_what_is_wanted_and_stays_in_memory(tmp_path: Path) -> None:
    before = set(tmp_path.iterdir())
    members = read_members(DEMO, wanted=lambda name: name.endswith(".checksum"))
    assert sorted(members) == [f"Run {n}.checksum" for n in range(1, 7)]
    assert len(members["Run 1.checksum"]) == 20 and members["Run 2.checksum"] == b""
    assert set(tmp_path.iterdir()) == before


def test_read_members_bounds_member_and_total_sizes(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("dir/", b"")
        z.writestr("dir/a.bin", b"a" * 5000)
        z.writestr("dir/b.bin", b"b" * 5000)
    assert sorted(read_members(path)) == ["dir/a.bin", "dir/b.bin"]
    with pytest.raises(ConversionError, match="inflates to 5000 bytes, more than the limit"):
        read_members(path, ArchiveLimits(max_member_bytes=4000))
    with pytest.raises(ConversionError, match="inflate to 10000 bytes, more than the limit"):
        read_members(path, ArchiveLimits(max_total_bytes=8000))
    with pytest.raises(ConversionError, match="larger than max_file_size_bytes"):
        read_members(path, ArchiveLimits(max_archive_bytes=1000))


def test_a_member_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.txt", b"0" * 2_000_000)
    data = bytearray(buffer.getvalue())
    # patch the declared uncompressed size (local header and central directory) to 10 bytes
    for offset in (22, data.rindex(b"PK\x01\x02") + 24):
        data[offset : offset + 4] = (10).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    # inflating stops at the declared 10 bytes; their checksum then cannot match
    with pytest.raises(ConversionError, match="'big.txt' is damaged or truncated .*CRC"):
        read_members(path)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a/../../b", "outside"),
        ("..\\b", "outside"),
        ("\\\\server\\share", "absolute"),
        ("d:file", "absolute"),
        ("a\x00b", "control characters"),
        ("x" * 300, "300 characters long"),
        ("", "empty name"),
    ],
)
def test_member_names_that_could_escape_are_refused(name: str, message: str) -> None:
    with pytest.raises(ConversionError, match=message):
        check_member_name(name)


def test_ordinary_member_names_pass() -> None:
    for name in ("Run 1.xml", "Info.xml", "12164_636695079402994186", "a/b/c..d.txt"):
        check_member_name(name)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_run_result_agrees_with_its_functions(path: Path) -> None:
    for report in convert(path):
        assert not any(m.description == "wats-converter note" for m in report.miscInfos or [])
        failed = any(status == "F" for _, _, status in functions(report))
        assert (report.result == "F") == failed, report.sn


def test_a_result_that_disagrees_with_the_functions_is_kept_and_noted(tmp_path: Path) -> None:
    members = sample_members(PASS_1234)
    members["Run 1.xml"] = members["Run 1.xml"].replace(
        b"<result>Passed</result>", b"<result>Failed</result>", 1
    )
    (report,) = convert(write_zip(tmp_path / "odd.xjlog", members))
    assert report.result == "F"
    notes = [m.text for m in report.miscInfos or [] if m.description == "wats-converter note"]
    assert notes == ["tester verdict Failed, but no step failed"]
