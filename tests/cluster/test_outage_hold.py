"""The cluster-wide server gate: a node holds off for what is left of another node's outage
backoff, as that node announced it, and never for its own announcement."""

from __future__ import annotations

from wats_converter.cluster.node import outage_hold_s


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
