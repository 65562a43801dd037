"""End to end: Takaya and XJTAG samples dropped into a real service's watch folders reach the
local server as one report per board."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.service.harness import Station
from wats_converter.converters.builtin import TakayaConverter, XJTAGConverter
from wats_converter.pipeline.conversion import convert_path
from wats_converter.server.fixture import ServerThread

DATA = Path(__file__).parent.parent / "data"
ATD = DATA / "takaya" / "ATD" / "V682780_B_BOT-20230301082027.ATD"
XJLOG = DATA / "xjtag" / "Demonstration hardware--28_10_2019.xjlog"


def entry(name: str, class_name: str, **settings: object) -> dict[str, object]:
    return {
        "name": name,
        "class_name": class_name,
        "watch_folder": f"watch-{name}",
        "done_folder": "done",
        "error_folder": "error",
        "post_process_action": "MOVE",
        "settings": settings,
    }


def test_samples_in_watch_folders_reach_the_server(tmp_path: Path, server: ServerThread) -> None:
    station = Station(
        tmp_path,
        server,
        [
            entry("takaya", "TakayaConverter", timezone="Europe/Oslo", incomplete_grace_s=0),
            entry("xjtag", "XJTAGConverter", part_number="DEMO-BOARD"),
        ],
    )
    shutil.copy(ATD, station.folder("watch-takaya") / ATD.name)
    shutil.copy(XJLOG, station.folder("watch-xjtag") / XJLOG.name)
    result = station.run_once()
    assert result.returncode == 0, result.stderr[-2000:]
    assert server.store.count() == 2 + 6
    assert len(station.files("done")) == 2 and station.files("error") == []
    expected = [
        *convert_path(TakayaConverter({"timezone": "Europe/Oslo"}), ATD).reports,
        *convert_path(XJTAGConverter({"part_number": "DEMO-BOARD"}), XJLOG).reports,
    ]
    for report in expected:
        stored = server.store.get(str(report.id))
        assert stored is not None, report.sn
        assert (stored["sn"], stored["pn"], stored["result"]) == (
            report.sn,
            report.pn,
            report.result,
        )
        assert stored["machineName"] == report.machineName  # TAK4, the XJLink names
