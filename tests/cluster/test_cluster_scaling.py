"""The measured scaling from one to three service nodes on this machine (docs/cluster.md):
the same burst through one node, then through three, on the same three-node NATS cluster.
All processes share this machine's cores, so the ratio is a floor, not a forecast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cluster.rig import ClusterJudge, ServiceCluster
from tests.faults.judge import Judge
from tests.faults.scenario import drop, four_action_station
from tests.faults.test_failpoints import settle
from tests.service.harness import wait_until
from wats_converter.cluster.local_nats import LocalNats
from wats_converter.server.fixture import ServerThread

FILES = 2000


def files_per_second(root: Path, server: ServerThread, nats: LocalNats, nodes: int) -> float:
    cluster = ServiceCluster(root, server, nats, count=nodes, max_workers=2)
    cluster.start()
    cluster.wait_ready()
    started = time.monotonic()
    dropped = drop(cluster.shared, FILES // 4, "s", broken=0)
    settle(ClusterJudge(root, server), dropped, cluster.nodes[0], timeout=900)
    took = time.monotonic() - started
    cluster.stop()
    return len(dropped) / took


def single_machine_files_per_second(root: Path, server: ServerThread) -> float:
    """The same burst through one service without a `cluster:` section: the cost of NATS."""
    root.mkdir()
    station = four_action_station(root, server, max_workers=2)
    station.start()
    wait_until(lambda: "startup scan" in station.log(), 60, "startup", station)
    started = time.monotonic()
    dropped = drop(station, FILES // 4, "s", broken=0)
    settle(Judge(root, server), dropped, station, timeout=900)
    took = time.monotonic() - started
    station.stop()
    return len(dropped) / took


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_one_to_three_nodes(tmp_path: Path, server: ServerThread) -> None:
    single = single_machine_files_per_second(tmp_path / "single", server)
    with LocalNats(tmp_path / "nats", nodes=3) as nats:
        one = files_per_second(tmp_path / "one", server, nats, 1)
        three = files_per_second(tmp_path / "three", server, nats, 3)
    print(
        f"\nsingle-machine mode: {single:.0f} files/s; cluster, 1 node: {one:.0f} files/s, "
        f"3 nodes: {three:.0f} files/s, ratio 3/1 {three / one:.2f}"
    )
    # a measurement, not a race: on two shared cores three nodes need not be faster than one,
    # but sharing the work must not collapse it
    assert three > 0.8 * one
