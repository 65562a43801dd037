"""Three service nodes on one shared folder, coordinated by a real three-node NATS cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.rig import ClusterJudge, ServiceCluster
from tests.faults.scenario import drop
from tests.faults.test_failpoints import settle
from wats_converter.cluster.local_nats import LocalNats
from wats_converter.server.fixture import ServerThread


@pytest.fixture
def nats(tmp_path: Path):  # type: ignore[no-untyped-def]
    with LocalNats(tmp_path / "nats", nodes=3) as cluster:
        yield cluster


@pytest.mark.timeout(120)
def test_three_nodes_share_one_folder(
    tmp_path: Path, server: ServerThread, nats: LocalNats
) -> None:
    root = tmp_path / "site"
    cluster = ServiceCluster(root, server, nats)
    dropped = drop(cluster.shared, 15, "a", broken=2)
    cluster.start()
    try:
        settle(ClusterJudge(root, server), dropped, cluster.nodes[0], timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from None
    assert cluster.stop() == [0, 0, 0]
