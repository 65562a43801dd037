"""The cluster's promise under crashes: a burst of files on the shared folder while service
nodes and one NATS node are SIGKILLed and restarted at random; afterwards the judge finds every
file's report stored exactly once, every source post-processed once, nothing left behind."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cluster.rig import FAST_CLUSTER, ClusterJudge, ServiceCluster
from tests.faults.judge import Dropped
from tests.faults.scenario import drop
from tests.faults.test_failpoints import settle
from wats_converter.cluster.local_nats import LocalNats
from wats_converter.server.fixture import ServerThread


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[LocalNats]:
    with LocalNats(tmp_path / "nats", nodes=3) as cluster:
        yield cluster


@dataclass(frozen=True)
class Burst:
    files: int
    kills: int
    seed: int


def burst_with_kills(root: Path, server: ServerThread, nats: LocalNats, burst: Burst) -> str:
    files, kills = burst.files, burst.kills
    rng = random.Random(burst.seed)
    cluster = ServiceCluster(root, server, nats)
    cluster.start()
    cluster.wait_ready()  # the burst meets running nodes
    dropped: list[Dropped] = []
    waves = max(kills, 1) * 2
    nats_victim = rng.randrange(kills) if kills else -1
    for wave in range(waves):
        per_action = -(-files // (4 * waves))  # at least `files` in all
        dropped += drop(cluster.shared, per_action, f"w{wave}", broken=int(wave == 0))
        # the server fails now and then: reports wait in the nodes' pending folders, so a
        # killed node leaves some behind for another node to adopt
        server.faults.add(mode="status", status=503, count=rng.randint(5, 40))
        time.sleep(rng.uniform(0.2, 1.0))
        if wave % 2 == 1 and wave // 2 < kills:
            victim = rng.choice(cluster.nodes)
            if wave == 1:
                # the server is down, so reports wait in pending/; the victim stays down past
                # node_ttl_s: another node must adopt and send its reports
                server.stop_listening()
                time.sleep(1.0)
            victim.kill()
            if wave // 2 == nats_victim:
                nats.kill(nats.nodes[rng.randrange(3)])
            time.sleep(FAST_CLUSTER["node_ttl_s"] + 2 if wave == 1 else rng.uniform(0.2, 1.5))
            server.resume_listening()
            cluster.start_node(victim)
            for node in nats.nodes:
                if node.proc is None:
                    nats.start_node(node)
    server.faults.clear()
    cluster.wait_ready()  # a node restarted last is up before the verdict and the stop
    try:
        settle(ClusterJudge(root, server), dropped, cluster.nodes[0], timeout=60 + files / 10)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from None
    assert cluster.stop() == [0] * len(cluster.nodes)
    stored = server.store.count()
    per_node = [n.log().count("converted ") for n in cluster.nodes]
    adopted = sum(n.log().count("this node sends its") for n in cluster.nodes)
    return (
        f"{len(dropped)} files, {stored} reports stored once each, converted per node "
        f"{per_node}, pending folders adopted {adopted} times"
    )


@pytest.mark.timeout(150)
def test_burst_with_node_kills_short(tmp_path: Path, server: ServerThread, nats: LocalNats) -> None:
    print(burst_with_kills(tmp_path / "site", server, nats, Burst(300, kills=2, seed=1)))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_burst_with_node_kills_10000(tmp_path: Path, server: ServerThread, nats: LocalNats) -> None:
    print(burst_with_kills(tmp_path / "site", server, nats, Burst(10_000, kills=8, seed=2)))
