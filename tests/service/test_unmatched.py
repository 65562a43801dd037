"""Files no converter claims are never silent: logged once, counted, listed, or moved."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

from tests.helpers import cli
from tests.service.harness import Station, single_converter, wait_until
from wats_converter.config import build_config
from wats_converter.converters.registry import build_slots
from wats_converter.pipeline.scanner import ScanStats, Unmatched, scan
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator

NOT_RESULTS = ("~$book.csv", ".hidden.dat", "upload.csv.part", "x.tmp", "y.lock")


def _watch_with_a_stray(folder: Path) -> Path:
    TestFileGenerator.generate_batch(folder, "csv", 2)
    for name in NOT_RESULTS:  # temp, hidden and lock names are not unmatched
        (folder / name).write_text("x")
    stray = folder / "board.dat"
    stray.write_text("a format nothing here reads\n")
    past = time.time() - 60
    os.utime(stray, (past, past))
    return stray


def test_once_keeps_an_unmatched_file_and_says_so(tmp_path: Path, server: ServerThread) -> None:
    station = single_converter(tmp_path, server)
    stray = _watch_with_a_stray(station.folder("watch"))
    result = station.run_once()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "done: 2 converted, 0 failed, 0 still pending, 1 unmatched" in result.stderr
    assert result.stderr.count("no converter claims this file") == 1
    assert f"{stray}: no converter claims this file" in result.stderr
    assert stray.exists()  # unmatched: keep (the default)
    status = json.loads((tmp_path / "status.json").read_text())
    assert (status["unmatched"], status["unmatched_files"]) == (1, [str(stray)])
    shown = cli("status", "--config", str(station.config_path))
    assert "unmatched files: 1 (no converter claims them" in shown.stdout
    listed = cli("unmatched", "--config", str(station.config_path))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [f"{stray}  ({stray.parent} takes *.csv)"]
    assert "1 files no converter claims" in listed.stderr


def test_a_running_service_logs_it_once_and_shows_it_in_metrics(
    tmp_path: Path, server: ServerThread
) -> None:
    station = single_converter(tmp_path, server, health={"enabled": True, "port": 0})
    stray = _watch_with_a_stray(station.folder("watch"))
    station.start()
    status_file = tmp_path / "status.json"
    wait_until(
        lambda: status_file.exists() and json.loads(status_file.read_text())["scans"] >= 4,
        what="four scans",
        station=station,
    )
    status = json.loads(status_file.read_text())
    assert status["unmatched"] == 1
    with urllib.request.urlopen(status["health_url"] + "/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert "wats_unmatched_files 1.0" in metrics
    assert station.stop() == 0
    assert station.log().count(f"{stray}: no converter claims this file") == 1


def test_unmatched_error_moves_it_to_the_error_folder(tmp_path: Path, server: ServerThread) -> None:
    converter = {
        "name": "csv",
        "class_name": "CSVConverter",
        "watch_folder": "watch",
        "done_folder": "done",
        "error_folder": "error",
        "unmatched": "error",
    }
    station = Station(tmp_path, server, [converter])
    stray = _watch_with_a_stray(station.folder("watch"))
    result = station.run_once()
    assert result.returncode == 1  # a file was not converted: the run says so
    assert "done: 2 converted, 1 failed, 0 still pending, 1 unmatched" in result.stderr
    assert not stray.exists()
    error = json.loads((tmp_path / "error" / "board.dat.error").read_text())
    assert error["error_type"] == "NoConverterFound"
    assert "*.csv" in error["exception"] and "requeue" in error["hint"]
    assert sorted(p.name for p in station.files("watch")) == sorted(NOT_RESULTS)


def test_a_file_another_converter_of_the_folder_claims_is_not_unmatched(tmp_path: Path) -> None:
    entries = [
        {"name": n, "class_name": c, "watch_folder": "w", "post_process_action": "KEEP"}
        for n, c in (("csv", "CSVConverter"), ("json", "WSJFConverter"))
    ]
    config = build_config({"converters": entries}, tmp_path)
    (tmp_path / "w" / "sub").mkdir(parents=True)
    for name in ("a.csv", "b.json", "sub/c.json", "sub/d.l3", "e.xml"):
        (tmp_path / "w" / name).write_text("x")
    strays: dict[str, Unmatched] = {}
    found = scan(build_slots(config), set(), ScanStats(), unmatched=strays)
    assert sorted(c.path.name for c in found) == ["a.csv", "b.json", "c.json"]
    assert sorted(u.path.name for u in strays.values()) == ["d.l3", "e.xml"]
    assert {u.slot.name for u in strays.values()} == {"csv"}  # the first entry's setting rules
