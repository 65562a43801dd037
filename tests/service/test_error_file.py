"""The `.error` file's `converter` is one thing: the config entry's name (the name `status`, the
logs and the metrics use), whatever sent the file there; the class that ran is beside it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.service.harness import Station, wait_until
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator


def old_file(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    past = time.time() - 60  # an old file that fails is not "still being written"
    os.utime(path, (past, past))
    return path


def test_the_error_file_names_the_config_entry(tmp_path: Path, server: ServerThread) -> None:
    entry = {
        "name": "line 3 tables",
        "class_name": "CSVConverter",
        "watch_folder": "watch",
        "done_folder": "done",
        "error_folder": "error",
        "unmatched": "error",
    }
    station = Station(tmp_path, server, [entry])
    watch = station.folder("watch")
    server.faults.add(mode="status", status=400, count=1)  # the first report is refused
    old_file(watch / "refused.csv", TestFileGenerator.render("csv", "REFUSED-1"))
    station.start()
    wait_until((tmp_path / "done" / "refused.csv").exists, 30, "refused done", station)
    old_file(watch / "broken.csv", b"\x00\x01 not a table")
    old_file(watch / "stray.dat", b"nothing here reads this")
    wait_until(lambda: len(station.files("error", "*.error")) == 3, 30, "3 error files", station)
    assert station.stop() == 0
    infos = {p.name: json.loads(p.read_text()) for p in station.files("error", "*.error")}
    assert {name: info["converter"] for name, info in infos.items()} == {
        "broken.csv.error": "line 3 tables",
        "stray.dat.error": "line 3 tables",
        f"{infos_report_id(infos)}.json.error": "line 3 tables",
    }
    assert infos["broken.csv.error"]["converter_class"] == "CSVConverter"
    assert "converter_class" not in infos["stray.dat.error"]  # no converter ran on it


def infos_report_id(infos: dict[str, dict[str, object]]) -> str:
    (rejected,) = (i for i in infos.values() if i["error_type"] == "ReportRejected")
    return str(rejected["report_id"])
