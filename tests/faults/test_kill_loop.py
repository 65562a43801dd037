"""Start, wait a random moment, SIGKILL; again and again while files arrive and the server
misbehaves. After the last restart drains, the judge checks every file."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.faults.judge import Dropped, Judge
from tests.faults.scenario import drop, four_action_station
from tests.faults.test_failpoints import settle
from wats_converter.server.fixture import ServerThread

FAULTS = (
    {"mode": "status", "status": 503},
    {"mode": "status", "status": 500},
    {"mode": "status", "status": 429, "retry_after": 0.2},
    {"mode": "drop_after_store"},
    {"mode": "reset"},
    {"mode": "delay", "ms": 300},
)


def kill_loop(tmp_path: Path, server: ServerThread, iterations: int, seed: int) -> None:
    rng = random.Random(seed)
    station = four_action_station(tmp_path, server, max_workers=2)
    dropped: list[Dropped] = []
    for i in range(iterations):
        dropped += drop(station, rng.randint(0, 3), f"it{i}", broken=int(rng.random() < 0.2))
        if rng.random() < 0.4:
            server.faults.add(**rng.choice(FAULTS), count=rng.randint(1, 4))
        station.start()
        time.sleep(rng.uniform(0.05, 1.5))
        station.kill()
    server.faults.clear()
    station.start()
    settle(Judge(tmp_path, server), dropped, station, timeout=180)
    assert station.stop() == 0
    posts = server.counters()["posts"]
    stored = server.store.count()
    print(
        f"\n{iterations} kills, {len(dropped)} files, {stored} reports stored once each, "
        f"{sum(posts.values()) - stored} re-sends (overwrites), 0 lost, 0 duplicated"
    )


@pytest.mark.timeout(300)
def test_random_kill_loop_short(tmp_path: Path, server: ServerThread) -> None:
    kill_loop(tmp_path, server, iterations=12, seed=1)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_random_kill_loop_200(tmp_path: Path, server: ServerThread) -> None:
    kill_loop(tmp_path, server, iterations=200, seed=2)
