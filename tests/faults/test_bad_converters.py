"""A converter that hangs, raises or kills its process affects only its own file; a file that
keeps crashing the converter is quarantined after `retry.conversion_attempts` attempts."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.service.harness import Station, wait_until
from wats_converter.server.fixture import ServerThread


def moody_station(root: Path, server: ServerThread, mode: str) -> Station:
    return Station(
        root,
        server,
        [
            {
                "name": "moody",
                "module_path": "tests.faults.moody_converter",
                "class_name": "MoodyConverter",
                "watch_folder": "watch",
                "done_folder": "done",
                "error_folder": "error",
                "post_process_action": "MOVE",
            }
        ],
        worker_mode=mode,
        max_workers=2,
        conversion_timeout_s=1.0,
    )


def drop(station: Station, name: str, text: str) -> None:
    path = station.folder("watch") / name
    path.write_text(text)
    past = time.time() - 60
    os.utime(path, (past, past))


def error_of(station: Station, name: str) -> dict[str, object]:
    return dict(json.loads((station.root / "error" / f"{name}.error").read_text()))


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_hanging_and_raising_converters_affect_only_their_file(
    tmp_path: Path, server: ServerThread, mode: str
) -> None:
    station = moody_station(tmp_path, server, mode)
    drop(station, "hang.mood", "HANG")
    drop(station, "raise.mood", "RAISE")
    for i in range(10):
        drop(station, f"ok{i}.mood", f"OK SN-{i}")
    if mode == "process":
        drop(station, "kill.mood", "KILL")
    station.start()
    wait_until(lambda: len(server.store.serial_counts()) == 10, 60, "10 good reports", station)
    quarantined = ["hang.mood", "raise.mood"] + (["kill.mood"] if mode == "process" else [])
    wait_until(
        lambda: all((tmp_path / "error" / f"{n}.error").exists() for n in quarantined),
        60,
        "bad files quarantined",
        station,
    )
    assert station.stop() == 0
    assert error_of(station, "raise.mood")["exception"] == "the converter has a bug"
    assert error_of(station, "raise.mood")["error_type"] == "RuntimeError"
    assert "RuntimeError" in str(error_of(station, "raise.mood")["traceback"])
    hang = error_of(station, "hang.mood")
    assert hang["error_type"] == "ConversionTimedOut" and hang["attempts"] == 3
    if mode == "process":
        killed = error_of(station, "kill.mood")
        assert killed["attempts"] == 3
        # a crash is a crash, never a timeout (issue 19)
        assert killed["error_type"] == "PoisonFile" and "SIGKILL" in str(killed["exception"])
    assert len(station.files("done")) == 10


def test_a_file_that_kills_the_service_is_quarantined_after_three_restarts(
    tmp_path: Path, server: ServerThread
) -> None:
    station = moody_station(tmp_path, server, "thread")
    drop(station, "poison.mood", "KILL")
    drop(station, "fine.mood", "OK FINE-1")
    restarts = 0
    while not (tmp_path / "error" / "poison.mood.error").exists():
        station.start()
        assert station.proc is not None
        try:
            station.proc.wait(timeout=30)  # killed by the poison file, like a systemd restart loop
            station.proc = None
            restarts += 1
        except Exception:
            break
        assert restarts <= 4, station.log()[-2000:]
    wait_until(lambda: "FINE-1" in server.store.serial_counts(), 30, "fine file", station)
    station.stop()
    assert restarts == 3
    info = error_of(station, "poison.mood")
    assert info["attempts"] == 3 and "crashed or timed out 3 times" in str(info["exception"])
