"""Files that hold several units and grow: every unit reaches the server exactly once.

A real service (subprocess) watches real folders and delivers to the local server over HTTP.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.service.harness import REPO, Station, single_converter, wait_until
from wats_converter.converters.builtin.wsxf_render import render_wsxf
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import minimal_report, write_atomically


def _units(count: int) -> list[dict[str, object]]:
    reports = []
    for i in range(count):
        report = minimal_report(f"GROW-{i:03d}")
        report.id = None  # a station file without ids: the service derives them
        reports.append(report.to_dict())
    return reports


def _stored_serials(server: ServerThread) -> list[str]:
    """Every stored report's serial number, once per report (a duplicate shows twice)."""
    return sorted(sn for sn, n in server.store.serial_counts().items() for _ in range(n))


def _received(server: ServerThread) -> int:
    return sum(server.store.receive_counts().values())


def _grow_and_check(station: Station, server: ServerThread, path: Path, write: object) -> None:
    station.start()
    for count in (1, 2, 3):
        write(count)  # type: ignore[operator]
        # every conversion sends every unit so far: 1, then 1 + 2, then 1 + 2 + 3 posts
        wait_until(
            lambda c=count: _received(server) >= c * (c + 1) // 2,
            what=f"the file with {count} units converted",
            station=station,
        )
    time.sleep(1.5)  # a late, wrong re-conversion would add reports now
    assert station.stop() == 0
    assert _stored_serials(server) == ["GROW-000", "GROW-001", "GROW-002"]
    # the first unit was overwritten twice under its one id, the last one posted once
    assert sorted(server.store.receive_counts().values()) == [1, 2, 3]
    assert path.exists()  # KEEP


def test_a_json_list_appended_to_three_times_stores_each_unit_once(
    tmp_path: Path, server: ServerThread
) -> None:
    station = single_converter(tmp_path, server, "WSJFConverter", action="KEEP")
    path = station.folder("watch") / "session.json"
    units = _units(3)

    def write(count: int) -> None:
        write_atomically(path, json.dumps(units[:count]).encode())

    _grow_and_check(station, server, path, write)


def test_a_wsxf_reports_file_appended_to_three_times_stores_each_unit_once(
    tmp_path: Path, server: ServerThread
) -> None:
    station = single_converter(tmp_path, server, "WSXFConverter", action="KEEP")
    path = station.folder("watch") / "session.xml"
    reports = [minimal_report(f"GROW-{i:03d}") for i in range(3)]
    for r in reports:
        r.id = None

    def write(count: int) -> None:
        write_atomically(path, render_wsxf(reports[:count]))

    _grow_and_check(station, server, path, write)


def _session_station(root: Path, server: ServerThread, **settings: object) -> Station:
    converter = {
        "name": "session",
        "class_name": "SessionLogConverter",
        "module_path": "tests.service.session_log",
        "watch_folder": "watch",
        "done_folder": "done",
        "error_folder": "error",
        "post_process_action": "MOVE",
        "settings": settings,
    }
    # the module is found through converter_paths alone: run_once sets no PYTHONPATH
    return Station(root, server, [converter], converter_paths=[str(REPO)])


def _board(n: int) -> str:
    return f"BOARD sn=LOG-{n:03d} start=2026-03-04T09:{n:02d}:00+01:00\nVCC 5.0{n} 4.9 5.1 V\n"


def test_a_log_appended_board_by_board_is_converted_when_complete_each_unit_once(
    tmp_path: Path, server: ServerThread
) -> None:
    station = _session_station(tmp_path, server)
    path = station.folder("watch") / "shift.log"
    station.start()
    for n in range(3):  # the tester appends in place, as a session log does
        with path.open("a") as f:
            f.write(_board(n))
        wait_until(
            lambda n=n: station.log().count("asks to retry") > n,
            what=f"the service to look at the log with {n + 1} boards",
            station=station,
        )
        assert server.store.count() == 0  # an unfinished log is never converted
    with path.open("a") as f:
        f.write("END SESSION\n")
    wait_until(lambda: len(station.files("done")) == 1, what="the log moved", station=station)
    time.sleep(1.0)
    assert station.stop() == 0
    assert _stored_serials(server) == ["LOG-000", "LOG-001", "LOG-002"]
    assert station.files("error") == []


def test_a_log_that_never_completes_goes_to_error_with_the_reason(
    tmp_path: Path, server: ServerThread
) -> None:
    station = _session_station(tmp_path, server, incomplete_timeout_s=2)
    path = station.folder("watch") / "crashed.log"
    path.write_text(_board(0))
    past = time.time() - 60  # the tester stopped writing it a minute ago
    os.utime(path, (past, past))
    result = station.run_once()
    assert result.returncode == 1, result.stderr[-2000:]
    error = json.loads((tmp_path / "error" / "crashed.log.error").read_text())
    assert error["error_type"] == "FileIncomplete"
    assert "still not complete" in error["exception"]
    assert "not complete yet" in error["exception"]
    assert "end marker" in error["hint"]
    assert server.store.count() == 0
