"""Three service nodes on one shared folder, coordinated by a real three-node NATS cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.rig import ClusterJudge, ServiceCluster
from tests.faults.scenario import drop
from tests.faults.test_failpoints import settle
from tests.service.harness import Station, wait_until
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
    cluster.start()
    cluster.wait_ready()
    dropped = drop(cluster.shared, 15, "a", broken=2)
    try:
        settle(ClusterJudge(root, server), dropped, cluster.nodes[0], timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from None
    # every node took a share of the work
    assert all(n.log().count("converted ") > 0 for n in cluster.nodes), cluster.logs()
    # `status` of one node shows the whole cluster
    wait_until(lambda: "n3:" in _status(cluster.nodes[0]), 10, "the cluster in status")
    shown = _status(cluster.nodes[0])
    assert "cluster: node n1 of 3 live" in shown
    assert "cluster backlog: 0 work items" in shown
    for name in ("n1", "n2", "n3"):
        assert f"  {name}: 0 in work, 0 pending" in shown
    assert cluster.stop() == [0, 0, 0]


def _status(node: Station) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "wats_converter", "status", "--config", str(node.config_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout + done.stderr


def test_run_once_is_refused_in_cluster_mode(tmp_path: Path, server: ServerThread) -> None:
    # nothing here needs NATS: the refusal comes before any connection
    cluster = ServiceCluster(tmp_path, server, nats=None, count=1)
    done = cluster.nodes[0].run_once(timeout=60)
    assert done.returncode != 0
    assert "run --once is for one machine" in done.stderr
