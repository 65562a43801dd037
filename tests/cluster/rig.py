"""A cluster on one machine: a three-node NATS JetStream cluster, service nodes as real
`wats-converter run` subprocesses on one shared station folder, and the local WATS server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.faults.judge import Judge
from tests.faults.scenario import ACTIONS, CLASSES
from tests.service.harness import Station, wait_until
from wats_converter.cluster.local_nats import LocalNats
from wats_converter.server.fixture import ServerThread

# short clocks so a killed node's files and reports move on within seconds in a test
FAST_CLUSTER = {
    "ack_wait_s": 3.0,
    "heartbeat_s": 0.5,
    "node_ttl_s": 3.0,
    "stale_temp_s": 5.0,
    "duplicate_window_s": 600.0,
}


def shared_converters(root: Path) -> list[dict[str, Any]]:
    """The four-action station of tests/faults on the shared folder (absolute paths)."""
    return [
        {
            "name": action.lower(),
            "class_name": CLASSES[ext],
            "watch_folder": str(root / "watch" / action.lower()),
            "done_folder": str(root / "done"),
            "error_folder": str(root / "error"),
            "post_process_action": action,
            "priority": 5,
        }
        for action, ext in ACTIONS.items()
    ]


class ServiceCluster:
    """`count` service nodes n1..nN on `root` (shared), each with its own config and state."""

    def __init__(
        self,
        root: Path,
        server: ServerThread,
        nats: LocalNats | None,
        count: int = 3,
        **settings: Any,
    ) -> None:
        self.root = root
        self._scans_before: dict[str, int] = {}
        urls = nats.urls if nats is not None else ["nats://127.0.0.1:1"]
        replicas = {"replicas": 1} if len(urls) == 1 else {}  # one NATS server: no replicas
        for i in range(count):
            (root / "nodes" / f"n{i + 1}").mkdir(parents=True, exist_ok=True)
        self.shared = Station(root, server, shared_converters(root))  # folders and drops only
        self.nodes = [
            Station(
                root / "nodes" / f"n{i + 1}",
                server,
                shared_converters(root),
                pending_folder=str(root / "pending"),
                archive_folder=str(root / "archive"),
                error_folder=str(root / "error"),
                state_folder="state",
                cluster={"servers": urls, "node": f"n{i + 1}", **FAST_CLUSTER, **replicas},
                **settings,
            )
            for i in range(count)
        ]

    def start(self) -> None:
        for node in self.nodes:
            self.start_node(node)

    def start_node(self, node: Station) -> None:
        # the log keeps the lines of earlier starts (some killed before their startup scan)
        self._scans_before[node.root.name] = node.log().count("startup scan")
        node.start()

    def wait_ready(self, timeout: float = 60) -> None:
        """Until every running node has finished the startup scan of its latest start."""
        for node in self.nodes:
            if node.proc is not None:
                before = self._scans_before.get(node.root.name, 0)
                wait_until(
                    lambda n=node, k=before: n.log().count("startup scan") > k,
                    timeout,
                    "startup",
                    node,
                )

    def stop(self) -> list[int]:
        """SIGTERM every running node; a node that does not exit within 30 s fails the test
        with its Python stacks (py-spy) and its log."""
        codes = []
        for node in self.nodes:
            if node.proc is None:
                continue
            proc = node.proc
            try:
                codes.append(node.stop(timeout=30))
            except subprocess.TimeoutExpired:
                dump = subprocess.run(
                    [str(Path(sys.executable).parent / "py-spy"), "dump", "--pid", str(proc.pid)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                raise AssertionError(
                    f"{node.root.name} did not stop:\n{dump.stdout}{dump.stderr}\n"
                    f"{node.log()[-3000:]}"
                ) from None
        return codes

    def logs(self) -> str:
        return "\n".join(f"--- {n.root.name}\n{n.log()[-3000:]}" for n in self.nodes)


class ClusterJudge(Judge):
    """The fault judge, plus: no node's pending folder holds a report."""

    def problems(self, dropped: list) -> list[str]:  # type: ignore[type-arg]
        problems = super().problems(dropped)
        pending = self.root / "pending"
        problems += [f"pending not empty: {p}" for p in pending.rglob("*.queued")]
        return problems
