"""What `status` prints and /metrics serves of a node's cluster snapshot."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, generate_latest

from wats_converter.cluster.view import metric_families, status_lines


def snapshot() -> dict:  # type: ignore[type-arg]
    return {
        "node": "n1",
        "servers": ["nats://a:4222", "nats://b:4222"],
        "nodes": {
            "n1": {
                "in_flight": 2,
                "pending": 0,
                "converted": 10,
                "submitted": 10,
                "pid": 7,
                "host": "h1",
                "updated_at": time.time(),
            },
            "n2": {
                "in_flight": 1,
                "pending": 4,
                "converted": 3,
                "submitted": 1,
                "paused": True,
                "pid": 8,
                "host": "h2",
                "updated_at": time.time() - 3,
            },
        },
        "backlog": 12,
        "pending_total": 4,
        "published": 20,
        "duplicates": 5,
        "acked": 13,
        "handed_back": 2,
        "stale": 1,
        "adopted": 0,
    }


def test_status_lists_every_live_node() -> None:
    lines = status_lines(snapshot())
    assert lines[0] == "cluster: node n1 of 2 live (nats://a:4222, nats://b:4222)"
    assert "cluster backlog: 12 work items" in lines[1]
    assert "pending reports on all nodes: 4" in lines[1]
    assert lines[2].startswith("  n1: 2 in work, 0 pending, 10 converted, 10 submitted (pid 7")
    assert lines[3].startswith("  n2: 1 in work, 4 pending, 3 converted, 1 submitted, PAUSED")
    assert "seen 3 s ago" in lines[3]


def test_metrics_carry_the_node_name() -> None:
    class Families:
        def collect(self):  # type: ignore[no-untyped-def]
            return metric_families(snapshot())

    registry = CollectorRegistry()
    registry.register(Families())  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    assert 'wats_cluster_published_total{node="n1"} 20.0' in text
    assert 'wats_cluster_backlog{node="n1"} 12.0' in text
    assert "wats_cluster_nodes 2.0" in text
