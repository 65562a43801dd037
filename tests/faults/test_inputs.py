"""Bad and odd input files: each ends in exactly one clear place, nothing else is disturbed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.faults.hostile_xml import BILLION_LAUGHS, EXTERNAL
from tests.faults.judge import Dropped, Judge
from tests.faults.test_failpoints import settle
from tests.service.harness import Station, single_converter, wait_until
from wats_converter.server.fixture import ServerThread
from wats_converter.server.store import HeaderQuery
from wats_converter.testing import TestFileGenerator, write_atomically


def station_for_all_formats(root: Path, server: ServerThread) -> Station:
    converters = [
        {
            "name": ext,
            "class_name": cls,
            "watch_folder": "watch",
            "patterns": [f"*.{ext}"],
            "done_folder": "done",
            "error_folder": "error",
            "post_process_action": "MOVE",
            "settings": {"max_file_size_bytes": 10_000_000},
        }
        for ext, cls in (
            ("json", "WSJFConverter"),
            ("csv", "CSVConverter"),
            ("xml", "WSXFConverter"),
            ("txt", "WSTFConverter"),
        )
    ]
    return Station(root, server, converters)


def put(folder: Path, name: str, content: bytes, *, old: bool = True) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if old:  # an old file is complete: a failure is final, not "still being written"
        past = time.time() - 60
        os.utime(path, (past, past))
    return path


def test_bad_input_goes_to_error_with_a_reason_and_good_input_is_unaffected(
    tmp_path: Path, server: ServerThread
) -> None:
    station = station_for_all_formats(tmp_path, server)
    watch = station.folder("watch")
    good_json = TestFileGenerator.render("json", "GOOD-1")
    bad = {
        "empty.json": b"",
        "truncated.json": good_json[: len(good_json) // 2],
        "truncated.xml": TestFileGenerator.render("xml", "T-1")[:300],
        "truncated.txt": TestFileGenerator.render("txt", "T-2")[:200],
        "truncated.csv": b"pn,P\nsn,S\n\nname,val",
        "nul.csv": b"pn,P\x00\x00\x00\nsn,S\n",
        "bomb.xml": BILLION_LAUGHS.encode(),
        "xxe.xml": EXTERNAL.encode(),
        "wrong-namespace.xml": b'<Reports xmlns="urn:other"><Report/></Reports>',
    }
    expect_reason = {
        "empty.json": "invalid JSON",
        "bomb.xml": "refused unsafe XML",
        "xxe.xml": "refused unsafe XML",
        "nul.csv": "NUL bytes",
        "wrong-namespace.xml": "a WSXF file has <Reports",
    }
    for name, content in bad.items():
        put(watch, name, content)
    huge = watch / "huge.csv"
    with huge.open("wb") as f:  # 500 MB, sparse: the limit refuses it without reading it
        f.truncate(500 * 1024 * 1024)
    past = time.time() - 60
    os.utime(huge, (past, past))
    good = {
        "utf16.json": good_json.decode().encode("utf-16"),
        "latin1.csv": TestFileGenerator.csv_text("LATIN-1")
        .replace("op1", "Ærlig Jøssing")
        .encode("latin-1"),
        "bom.csv": b"\xef\xbb\xbf" + TestFileGenerator.csv_text("BOM-1").encode(),
        "résultat ü 测试.csv": TestFileGenerator.csv_text("UNICODE-1").encode(),
        "with spaces in name.txt": TestFileGenerator.render("txt", "SPACES-1"),
        ("x" * 200) + ".xml": TestFileGenerator.render("xml", "LONG-1"),
    }
    for name, content in good.items():
        put(watch, name, content)
    station.start()
    dropped = [Dropped(n, c, "", "ERROR") for n, c in bad.items()]
    dropped += [
        Dropped(n, c, sn, "MOVE")
        for (n, c), sn in zip(
            good.items(),
            ["GOOD-1", "LATIN-1", "BOM-1", "UNICODE-1", "SPACES-1", "LONG-1"],
            strict=True,
        )
    ]
    judge = Judge(tmp_path, server)
    wait_until((station.root / "error" / "huge.csv.error").exists, 60, "huge refused", station)
    settle(judge, dropped, station)
    assert station.stop() == 0
    for name, reason in expect_reason.items():
        info = json.loads((tmp_path / "error" / f"{name}.error").read_text())
        assert reason in info["exception"], (name, info)
        assert info["converter"] and info["hint"] and info["file"] == name
    huge_info = json.loads((tmp_path / "error" / "huge.csv.error").read_text())
    assert huge_info["error_type"] == "FileTooLarge"
    assert (tmp_path / "error" / "huge.csv").stat().st_size == 500 * 1024 * 1024
    (latin,) = server.store.headers(HeaderQuery((("serialNumber", "LATIN-1"),)))
    server_doc = server.store.get(latin["uuid"])
    assert server_doc is not None and server_doc["uut"]["user"] == "Ærlig Jøssing"


def test_same_content_twice_is_one_report_and_same_name_new_content_is_two(
    tmp_path: Path, server: ServerThread
) -> None:
    station = station_for_all_formats(tmp_path, server)
    watch = station.folder("watch")
    station.start()
    content = TestFileGenerator.render("csv", "TWICE-1")
    write_atomically(watch / "first.csv", content)
    write_atomically(watch / "second.csv", content)
    wait_until(lambda: len(station.files("done")) == 2, 30, "both moved", station)
    assert server.store.serial_counts() == {"TWICE-1": 1}
    write_atomically(watch / "first.csv", TestFileGenerator.render("csv", "NEW-2"))
    wait_until(lambda: len(station.files("done")) == 3, 30, "replacement moved", station)
    assert station.stop() == 0
    assert server.store.serial_counts() == {"TWICE-1": 1, "NEW-2": 1}
    assert sorted(p.name for p in station.files("done")) == [
        "first.csv",
        "first_1.csv",
        "second.csv",
    ]


def test_files_deleted_or_renamed_while_queued_and_bursts_into_new_subfolders(
    tmp_path: Path, server: ServerThread
) -> None:
    station = single_converter(tmp_path, server, settle_s=1.0)
    watch = station.folder("watch")
    station.start()
    time.sleep(1.0)
    doomed = put(watch, "doomed.csv", TestFileGenerator.render("csv", "DOOMED"), old=False)
    moving = put(watch, "moving.csv", TestFileGenerator.render("csv", "MOVED-1"), old=False)
    time.sleep(0.3)  # seen by the watcher, still settling (settle_s = 1 s)
    doomed.unlink()
    moving.rename(watch / "renamed.csv")
    burst = []
    for i in range(60):
        folder = watch / f"line{i % 3}" / f"day{i % 4}" / "run"
        burst.append(
            put(folder, f"b{i}.csv", TestFileGenerator.render("csv", f"BURST-{i}"), old=False)
        )
    wait_until(lambda: len(server.store.serial_counts()) == 61, 60, "61 reports", station)
    assert station.stop() == 0
    counts = server.store.serial_counts()
    assert "DOOMED" not in counts and counts["MOVED-1"] == 1
    assert station.files("error") == [] and "Traceback" not in station.log()
    assert sorted(p.name for p in station.files("done")) == sorted(
        ["renamed.csv", *(p.name for p in burst)]
    )
