"""Choosing a converter by content: WSXF, ATML and TestStand XML files share one folder."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.faults.hostile_xml import BILLION_LAUGHS, EXTERNAL
from tests.helpers import cli
from tests.service.harness import Station, wait_until
from tests.service.yaml_writer import dump
from wats_converter.config import build_config
from wats_converter.converters import Recognition, xml_head
from wats_converter.converters.registry import ConverterSlot, build_slots
from wats_converter.errors import ConfigError, ConversionError
from wats_converter.pipeline.scanner import ScanStats, scan
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import write_atomically

DATA = Path(__file__).parent.parent / "data"
EXAMPLES = Path(__file__).parent.parent.parent / "examples"
SAMPLES = {
    "atml202.xml": DATA / "atml" / "ATML 2.02 [123456789][2 30 27 PM][5 15 2019].XML",
    "atml601.xml": DATA / "atml" / "ATML 6.01 [2 31 52 PM][5 15 2019].xml",
    "ts-with.xml": DATA / "teststand-xml" / "TSWithWats.xml",
    "ts-plain.xml": DATA / "teststand-xml" / "TsWithoutWats.xml",
    "wsxf.xml": EXAMPLES / "wsxf" / "spec_example.xml",
}
EXPECTED = {
    "atml202.xml": "atml",
    "atml601.xml": "atml",
    "ts-with.xml": "teststand",
    "ts-plain.xml": "teststand",
    "wsxf.xml": "wsxf",
}
TS_SETTINGS = {"part_number": "PN-SETTING", "timezone": "Europe/Oslo"}


def xml_converters(watch: str | Path = "watch", **entry: Any) -> list[dict[str, Any]]:
    """WSXF, ATML and TestStand XML on one folder, all on the default `*.xml`."""
    return [
        {"name": "wsxf", "class_name": "WSXFConverter", "watch_folder": str(watch), **entry},
        {
            "name": "atml",
            "class_name": "ATMLConverter",
            "watch_folder": str(watch),
            "settings": {"timezone": "Europe/Oslo"},
            **entry,
        },
        {
            "name": "teststand",
            "class_name": "TestStandXMLConverter",
            "watch_folder": str(watch),
            "settings": TS_SETTINGS,
            **entry,
        },
    ]


def shared_folder(tmp_path: Path) -> tuple[list[ConverterSlot], Path]:
    watch = tmp_path / "watch"
    watch.mkdir()
    for name, source in SAMPLES.items():
        shutil.copy(source, watch / name)
    config = build_config(
        {"converters": xml_converters(watch, post_process_action="KEEP")}, tmp_path
    )
    return build_slots(config), watch


def test_the_xml_head_is_the_root_element_and_its_first_children() -> None:
    head = xml_head(SAMPLES["ts-plain.xml"].read_bytes()[:2048])
    assert (head.namespace, head.name, head.children[:1]) == ("", "Reports", (("", "Report"),))
    atml = xml_head(SAMPLES["atml601.xml"].read_bytes()[:900])  # the head stops mid-element
    assert atml.name == "TestResultsCollection"
    assert atml.namespace == "urn:IEEE-1636.1:2013:TestResultsCollection"
    utf16 = '<?xml version="1.0" encoding="utf-16"?><TSReport><ReportInfo/></TSReport>'
    assert xml_head(utf16.encode("utf-16")).name == "TSReport"


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (BILLION_LAUGHS.encode(), "refused unsafe XML"),
        (EXTERNAL.encode(), "refused unsafe XML"),
        (b"<!DOCTYPE r><r/>", r"refused unsafe XML \(DTDForbidden\)"),
        (b"SN,PN\n1,2\n", "not well-formed XML"),
        (b"", "no XML root element"),
    ],
    ids=["entity-bomb", "xxe", "doctype", "csv", "empty"],
)
def test_a_head_that_is_not_safe_xml_is_refused(head: bytes, message: str) -> None:
    with pytest.raises(ConversionError, match=message):
        xml_head(head)


def test_converters_that_recognise_content_may_share_a_folder(tmp_path: Path) -> None:
    slots, _ = shared_folder(tmp_path)
    assert [(s.name, s.shared_with, s.last_to_choose) for s in slots] == [
        ("wsxf", (1, 2), False),
        ("atml", (0, 2), False),
        ("teststand", (0, 1), True),
    ]


def test_a_converter_that_judges_by_name_alone_may_still_not_share(tmp_path: Path) -> None:
    converters = [
        *xml_converters(tmp_path, post_process_action="KEEP"),
        {
            "name": "csv",
            "class_name": "CSVConverter",
            "watch_folder": str(tmp_path),
            "patterns": ["*.xml"],
            "post_process_action": "KEEP",
        },
    ]
    with pytest.raises(ConfigError, match="recognise their files by content"):
        build_slots(build_config({"converters": converters}, tmp_path))


def test_each_file_goes_to_the_converter_that_recognises_it(tmp_path: Path) -> None:
    slots, watch = shared_folder(tmp_path)
    for name, expected in EXPECTED.items():
        claimants = [s.name for s in slots if s.claims(watch / name)]
        assert claimants == [expected], name
    found = {c.path.name: c.slot.name for c in scan(slots, set(), ScanStats())}
    assert found == EXPECTED


def test_a_file_no_converter_takes_is_left_alone_and_the_reason_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    slots, watch = shared_folder(tmp_path)
    (watch / "other.xml").write_text("<Inventory><Item/></Inventory>")
    with caplog.at_level(logging.DEBUG, logger="wats_converter.converters.registry"):
        assert not any(s.claims(watch / "other.xml") for s in slots)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(lines) == 1
    assert "other.xml: no converter of this folder takes it" in lines[0]
    assert "<Inventory> is not TestStand XML" in lines[0]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("not for converter 'atml'" in line for line in debug)
    assert "other.xml" not in {c.path.name for c in scan(slots, set(), ScanStats())}


def test_a_file_that_is_not_safe_xml_goes_to_the_first_converter_to_fail_there(
    tmp_path: Path,
) -> None:
    slots, watch = shared_folder(tmp_path)
    (watch / "lol.xml").write_text(BILLION_LAUGHS)
    (watch / "junk.xml").write_bytes(b"\x00\xffnot xml")
    for name in ("lol.xml", "junk.xml"):
        assert [s.name for s in slots if s.claims(watch / name)] == ["wsxf", "atml", "teststand"]
    found = {c.path.name: c.slot.name for c in scan(slots, set(), ScanStats())}
    assert (found["lol.xml"], found["junk.xml"]) == ("wsxf", "wsxf")


def test_a_verdict_is_remembered_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slots, watch = shared_folder(tmp_path)
    atml = slots[1]
    looks: list[Path] = []
    real = atml.converter.recognizes

    def counting(head: bytes, path: Path) -> Recognition:
        looks.append(path)
        return real(head, path)

    monkeypatch.setattr(atml.converter, "recognizes", counting)
    path = watch / "atml202.xml"
    assert atml.claims(path) and atml.claims(path)
    assert len(looks) == 1
    shutil.copy(SAMPLES["wsxf.xml"], path)  # rewritten in place: looked at again
    assert not atml.claims(path)
    assert len(looks) == 2


def test_convert_with_a_config_says_which_converter_it_picked_and_why(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(dump({"converters": xml_converters(tmp_path, post_process_action="KEEP")}))
    result = cli("convert", str(SAMPLES["atml601.xml"]), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sn"] == "123456789"
    assert "converter ATMLConverter: root element <TestResultsCollection" in result.stderr
    assert "is ATML 6.01" in result.stderr
    unknown = tmp_path / "other.xml"
    unknown.write_text("<Inventory/>")
    result = cli("convert", str(unknown), "--config", str(config))
    assert result.returncode == 2
    assert "no converter recognises it" in result.stderr
    assert "ATMLConverter: root element <Inventory>" in result.stderr


def test_convert_without_a_config_picks_by_content_too() -> None:
    result = cli("convert", str(SAMPLES["ts-with.xml"]))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "f4fb0a29-93b1-4f7f-ada7-672b382774ab"
    assert "TestStandXMLConverter" in result.stderr


def shared_folder_station(root: Path, server: ServerThread) -> Station:
    """A station whose XML converters share `watch/`, with done/ and error/ folders."""
    return Station(
        root,
        server,
        xml_converters(done_folder="done", error_folder="error", post_process_action="MOVE"),
    )


def test_a_shared_watch_folder_delivers_every_kind_to_the_server(
    tmp_path: Path, server: ServerThread
) -> None:
    station = shared_folder_station(tmp_path, server)
    watch = station.folder("watch")
    for name, source in SAMPLES.items():
        shutil.copy(source, watch / name)
    (watch / "bomb.xml").write_text(BILLION_LAUGHS)
    (watch / "inventory.xml").write_text("<Inventory/>")
    result = station.run_once()
    assert result.returncode == 1, result.stderr[-3000:]
    assert "done: 5 converted, 1 failed" in result.stderr
    assert sorted(p.name for p in station.files("done")) == sorted(SAMPLES)
    error = json.loads((tmp_path / "error" / "bomb.xml.error").read_text())
    assert "refused unsafe XML" in error["exception"]
    assert [p.name for p in station.files("watch")] == ["inventory.xml"]  # nobody's: left alone
    for report_id in (
        "33efe64e-770d-11e9-826e-00155d017250",
        "67294591-770d-11e9-826e-00155d017250",
        "f4fb0a29-93b1-4f7f-ada7-672b382774ab",
    ):
        assert server.store.get(report_id) is not None
    assert server.store.count() == 5


def test_files_dropped_into_a_running_services_shared_folder_are_told_apart(
    tmp_path: Path, server: ServerThread
) -> None:
    station = shared_folder_station(tmp_path, server)
    watch = station.folder("watch")
    station.start()
    wait_until(lambda: "startup scan" in station.log(), 30, "startup scan", station)
    for name, source in SAMPLES.items():  # after the startup scan: watcher events (or a rescan)
        write_atomically(watch / name, source.read_bytes())
    wait_until(lambda: server.store.count() == 5, 60, "5 reports stored", station)
    wait_until(lambda: len(station.files("done")) == 5, 30, "5 files done", station)
    assert station.stop() == 0
    log = station.log()
    for name, converter in EXPECTED.items():
        assert f"{watch / name} with {converter} in" in log
