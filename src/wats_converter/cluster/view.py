"""The cluster as operators see it: the lines `status` prints and the /metrics families, both
from the `cluster` part of a node's status snapshot (`ClusterNode.snapshot`). No NATS here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


def status_lines(cluster: dict[str, Any]) -> list[str]:
    """`status` output: this node, the backlog, and one line per live node."""
    nodes: dict[str, dict[str, Any]] = cluster.get("nodes", {})
    lines = [
        f"cluster: node {cluster['node']} of {len(nodes)} live "
        f"({', '.join(cluster.get('servers', []))})",
        f"  cluster backlog: {cluster['backlog']} work items (queued or in work), "
        f"pending reports on all nodes: {cluster['pending_total']}",
    ]
    now = time.time()
    for name in sorted(nodes):
        n = nodes[name]
        lines.append(
            f"  {name}: {n.get('in_flight', 0)} in work, {n.get('pending', 0)} pending, "
            f"{n.get('converted', 0)} converted, {n.get('submitted', 0)} submitted"
            f"{', PAUSED' if n.get('paused') else ''} (pid {n.get('pid')} on {n.get('host')}, "
            f"seen {max(0.0, now - float(n.get('updated_at', now))):.0f} s ago)"
        )
    return lines


def metric_families(cluster: dict[str, Any]) -> Iterator[Any]:
    """Per-node figures, labelled with the node's name (every node serves its own /metrics
    and the cluster's backlog as it sees it)."""
    node = [cluster["node"]]
    for key, text in (
        ("published", "work items this node added to the cluster"),
        ("duplicates", "offers the stream already held (another scan or node found the file)"),
        ("acked", "work items this node finished"),
        ("handed_back", "work items handed back for later (settling, retry)"),
        ("stale", "work items dropped because the file changed, vanished or was handled"),
        ("adopted", "pending reports this node took over from a node that stopped"),
    ):
        family = CounterMetricFamily(f"wats_cluster_{key}", text, labels=["node"])
        family.add_metric(node, cluster[key])
        yield family
    for key, text in (
        ("backlog", "work items in the cluster's stream (queued or in work)"),
        ("pending_total", "pending reports on all live nodes"),
    ):
        gauge = GaugeMetricFamily(f"wats_cluster_{key}", text, labels=["node"])
        gauge.add_metric(node, cluster[key])
        yield gauge
    yield GaugeMetricFamily(
        "wats_cluster_nodes", "live nodes as this node sees them", value=len(cluster["nodes"])
    )
