"""The cluster harness itself: three real nats-server processes form a JetStream cluster that
survives a SIGKILLed node and takes it back on restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats

from wats_converter.cluster.jetstream import persist
from wats_converter.cluster.local_nats import LocalNats


async def _publish_and_count(urls: list[str], subject: str, count: int) -> int:
    nc = await nats.connect(servers=urls, connect_timeout=2, max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        # right after a start or a kill the stream may still elect its leader: persist waits
        await persist("add", lambda: js.add_stream(name="T", subjects=["t.>"], num_replicas=3))
        for i in range(count):
            await persist("publish", lambda i=i: js.publish(subject, str(i).encode()))
        info = await persist("info", lambda: js.stream_info("T"))
        return int(info.state.messages)
    finally:
        await nc.close()


def test_three_nodes_elect_a_leader_and_survive_a_kill(tmp_path: Path) -> None:
    with LocalNats(tmp_path, nodes=3) as cluster:
        assert cluster.meta_leader() is not None
        assert asyncio.run(_publish_and_count(cluster.urls, "t.a", 10)) == 10
        victim = cluster.nodes[0]
        cluster.kill(victim)
        cluster.wait_ready()  # the two others keep (or elect) a leader
        # an R3 stream keeps its quorum with two of three nodes
        assert asyncio.run(_publish_and_count(cluster.urls[1:], "t.a", 5)) == 15
        cluster.start_node(victim)
        cluster.wait_ready()
        assert victim.jsz() != {}
