"""The cluster-wide server gate: a node holds off for what is left of another node's outage
backoff, as that node announced it, and never for its own announcement; with real nodes and a
server answering 503, the second node does not send while the first backs off."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.rig import ClusterJudge, ServiceCluster
from tests.faults.scenario import drop
from tests.faults.test_failpoints import settle
from tests.service.harness import wait_until
from wats_converter.cluster.local_nats import LocalNats
from wats_converter.cluster.node import outage_hold_s
from wats_converter.server.fixture import ServerThread


def test_the_longest_remaining_backoff_of_another_node_is_held() -> None:
    nodes = {
        "n1": {"outage_for_s": 50.0, "updated_at": 1000.0},  # this node's own: not followed
        "n2": {"outage_for_s": 8.0, "updated_at": 998.0},  # announced 2 s ago: 6 s left
        "n3": {"outage_for_s": 0, "updated_at": 1000.0},
    }
    assert outage_hold_s(nodes, "n1", now=1000.0) == 6.0


def test_an_expired_or_absent_backoff_holds_nothing() -> None:
    nodes = {"n2": {"outage_for_s": 3.0, "updated_at": 990.0}, "n3": {"updated_at": 999.0}}
    assert outage_hold_s(nodes, "n1", now=1000.0) <= 0


def _posts(server: ServerThread, armed: int) -> int:
    """The report POSTs the server's 503 rule has answered so far."""
    left = server.faults.pending()
    return armed - int(left[0]["count"]) if left else armed


def _within(seconds: float, predicate: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.timeout(120)
def test_nodes_hold_off_together_from_a_failing_server(
    tmp_path: Path, server: ServerThread
) -> None:
    """n1 finds the server failing and backs off; n2, with reports of its own, holds off for
    n1's backoff instead of finding the outage with POSTs of its own; after the server is back
    every file's reports are stored once and every source is post-processed once."""
    armed = 100_000
    server.faults.add(mode="status", status=503, count=armed)
    root = tmp_path / "site"
    with LocalNats(tmp_path / "nats", nodes=1) as nats:
        # one backoff step of 8-16 s (jitter): the window below fits in n1's first hold; one
        # worker each, so the nodes take turns at the second batch
        retry = {"initial_s": 16.0, "max_s": 16.0}
        cluster = ServiceCluster(root, server, nats, count=2, retry=retry, max_workers=1)
        n1, n2 = cluster.nodes
        try:
            cluster.start_node(n1)
            cluster.wait_ready()
            dropped = drop(cluster.shared, 1, "first", broken=0)
            wait_until(lambda: "server unavailable" in n1.log(), 30, "n1's outage", n1)
            cluster.start_node(n2)
            cluster.wait_ready()
            wait_until(lambda: "holding for" in n2.log(), 10, "n2 following n1's hold", n2)
            before_posts, before_converted = _posts(server, armed), n2.log().count("converted ")
            # the nodes race for each item: more files until n2 has reports of its own
            for turn in range(5):
                dropped += drop(cluster.shared, 2, f"second{turn}", broken=0)
                if _within(2.0, lambda: n2.log().count("converted ") >= before_converted + 2):
                    break
            else:
                raise AssertionError("n2 converted fewer than 2 files of 40")
            time.sleep(1.0)  # unheld, n2 would POST its reports now, at once
            held_posts = _posts(server, armed) - before_posts
            # at most n1's probe, if its hold ran out in the window; n2 sent nothing
            assert held_posts <= 1, f"{held_posts} POSTs while n1 backed off"
            assert "server unavailable" not in n2.log()
            server.faults.clear()
            settle(ClusterJudge(root, server), dropped, n1, timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{cluster.logs()}") from None
        finally:
            cluster.stop()
