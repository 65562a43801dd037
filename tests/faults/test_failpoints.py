"""Crash (or fail) at every step boundary of a file's life; after a restart nothing is lost or
duplicated and every file is in exactly one place."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.faults.judge import Judge
from tests.faults.scenario import drop, four_action_station
from tests.service.harness import single_converter, wait_until
from wats_converter.failpoints import FAILPOINTS
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator

# reports go straight to an answering server; these points are on the way into pending/, which
# is taken when a POST fails
SPOOL_POINTS = {"spool_before_rename", "after_spool_rename"}


def settle(judge: Judge, dropped: list, station, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    last: list[str] = []

    def clean() -> bool:
        nonlocal last
        last = judge.problems(dropped)
        return not last

    try:
        wait_until(clean, timeout, "a clean verdict", station)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nproblems: {last[:10]}") from None


@pytest.mark.parametrize("point", FAILPOINTS)
def test_kill_at_failpoint_then_restart(tmp_path: Path, server: ServerThread, point: str) -> None:
    station = four_action_station(tmp_path, server, max_workers=1)
    dropped = drop(station, 3, "k")
    if point in SPOOL_POINTS:
        server.faults.add(mode="status", status=503, count=1)
    station.start(env={"WATS_CONVERTER_FAILPOINTS": f"{point}=kill"})
    assert station.proc is not None
    code = station.proc.wait(timeout=60)
    assert code == -signal.SIGKILL, f"failpoint {point} was never reached:\n{station.log()[-2000:]}"
    station.proc = None
    station.start()
    settle(Judge(tmp_path, server), dropped, station)
    assert station.stop() == 0


@pytest.mark.parametrize("point", FAILPOINTS)
def test_io_error_at_failpoint_is_survived(
    tmp_path: Path, server: ServerThread, point: str
) -> None:
    station = four_action_station(tmp_path, server, max_workers=1)
    dropped = drop(station, 2, "r")
    if point in SPOOL_POINTS:
        server.faults.add(mode="status", status=503, count=1)
    station.start(env={"WATS_CONVERTER_FAILPOINTS": f"{point}=raise"})
    settle(Judge(tmp_path, server), dropped, station)
    assert station.stop() == 0


def test_a_service_killed_while_delivering_again_and_again_never_blames_the_file(
    tmp_path: Path, server: ServerThread
) -> None:
    """Conversion attempts count crashes of the converter, not of the delivery after it: a file
    whose report the server accepted each time before the service died is never quarantined."""
    station = single_converter(tmp_path, server, "WSJFConverter")
    [source] = TestFileGenerator.generate_batch(station.folder("watch"), "json", 1)
    for _ in range(4):  # more than retry.conversion_attempts (3)
        station.start(env={"WATS_CONVERTER_FAILPOINTS": "after_2xx=kill"})
        assert station.proc is not None
        assert station.proc.wait(timeout=60) == -signal.SIGKILL
        station.proc = None
    station.start()
    wait_until(lambda: station.files("done") != [], 30, "the file moved to done/", station)
    assert station.stop() == 0
    assert [p.name for p in station.files("done")] == [source.name]
    assert station.files("error") == []
    # every run sent the same report id again: five posts, one stored report (overwrites)
    assert list(server.counters()["posts"].values()) == [5] and server.store.count() == 1
