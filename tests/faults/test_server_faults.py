"""Server trouble beyond the end-to-end tests: a long outage (short backoff settings stand in for
minutes), a flapping server, repeated 500s. Everything is delivered once, nothing to error/."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.faults.judge import Judge
from tests.faults.scenario import drop, four_action_station
from tests.faults.test_failpoints import settle
from tests.service.harness import wait_until
from wats_converter.server.fixture import ServerThread


def test_a_long_outage_is_ridden_out(tmp_path: Path, server: ServerThread) -> None:
    station = four_action_station(tmp_path, server)
    server.stop_listening()
    station.start()
    dropped = drop(station, 25, "outage", broken=0)
    wait_until(lambda: len(station.files("pending", "*.queued")) == 100, 60, "all pending", station)
    time.sleep(8)  # at retry.max_s = 0.5 s this is ~16 backoff periods: "minutes" of outage
    assert station.files("error") == [] and server.store.count() == 0
    server.resume_listening()
    settle(Judge(tmp_path, server), dropped, station)
    assert station.stop() == 0
    assert set(server.counters()["posts"].values()) == {1}


def test_a_flapping_server(tmp_path: Path, server: ServerThread) -> None:
    station = four_action_station(tmp_path, server)
    stop = threading.Event()

    def flap() -> None:
        while not stop.is_set():
            server.stop_listening()
            time.sleep(0.3)
            server.resume_listening()
            time.sleep(0.3)

    flapper = threading.Thread(target=flap)
    flapper.start()
    try:
        station.start()
        dropped = []
        for batch in range(10):
            dropped += drop(station, 2, f"flap{batch}", broken=0)
            time.sleep(0.4)
        time.sleep(2)
    finally:
        stop.set()
        flapper.join()
    settle(Judge(tmp_path, server), dropped, station)
    assert station.stop() == 0


@pytest.mark.parametrize("status", [500, 502, 504])
def test_repeated_server_errors(tmp_path: Path, server: ServerThread, status: int) -> None:
    station = four_action_station(tmp_path, server)
    server.faults.add(mode="status", status=status, count=25)
    station.start()
    dropped = drop(station, 5, f"e{status}", broken=0)
    settle(Judge(tmp_path, server), dropped, station)
    assert station.stop() == 0
    assert server.faults.pending() == []  # every injected error was met and ridden out
