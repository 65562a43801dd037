"""ClusterWorkQueue against a real JetStream server: one item per file version whoever offers
it, priority across the cluster, a changed file's old item dropped, a handed-back item taken
again, and an unacknowledged item of a dead node given to another after ack_wait_s."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from wats_converter.cluster.jetstream import JetStream, connect
from wats_converter.cluster.local_nats import LocalNats
from wats_converter.cluster.settings import ClusterConfig
from wats_converter.cluster.work import ClusterWorkQueue, WorkCounts
from wats_converter.converters.registry import ConverterSlot, build_slots
from wats_converter.testing import station_config


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNats]:
    with LocalNats(tmp_path_factory.mktemp("nats"), nodes=1) as server:
        yield server


@pytest.fixture
def slots(tmp_path: Path) -> list[ConverterSlot]:
    config = station_config(
        tmp_path,
        {"name": "low", "class_name": "CSVConverter", "watch_folder": "low", "priority": 1},
        {"name": "high", "class_name": "WSJFConverter", "watch_folder": "high", "priority": 10},
    )
    for slot in build_slots(config):
        slot.entry.watch_folder.mkdir(parents=True, exist_ok=True)
    return build_slots(config)


@pytest.fixture
async def cfg(nats: LocalNats, tmp_path: Path) -> ClusterConfig:
    # a stream of its own per test (names from the test's folder), one replica on one server
    tag = tmp_path.name.replace(".", "_")[-20:]
    return ClusterConfig(
        servers=nats.urls,
        node="a",
        replicas=1,
        ack_wait_s=1.0,
        work_stream=f"W_{tag}",
        subject_prefix=f"w.{tag}",
        handled_bucket=f"h_{tag}",
        claims_bucket=f"c_{tag}",
        nodes_bucket=f"n_{tag}",
    )


@pytest.fixture
async def two(cfg: ClusterConfig) -> AsyncIterator[tuple[JetStream, JetStream]]:
    first, second = await connect(cfg), await connect(cfg)
    yield first, second
    await first.close()
    await second.close()


def queue(js: JetStream, cfg: ClusterConfig, slots: list[ConverterSlot]) -> ClusterWorkQueue:
    return ClusterWorkQueue(js, cfg, slots, WorkCounts())


async def published(q: ClusterWorkQueue) -> None:
    """Run the node's publisher until everything offered is in the stream."""
    offered = q.qsize() + q.counters.published + q.counters.duplicates
    task = asyncio.create_task(q.run())
    for _ in range(500):
        if q.counters.published + q.counters.duplicates >= offered:
            break
        await asyncio.sleep(0.01)
    task.cancel()


def write(folder: Path, name: str, text: str = "x") -> Path:
    path = folder / name
    path.write_text(text)
    return path


async def test_two_nodes_offering_one_file_make_one_item(
    two: tuple[JetStream, JetStream], cfg: ClusterConfig, slots: list[ConverterSlot]
) -> None:
    a, b = queue(two[0], cfg, slots), queue(two[1], cfg, slots)
    low = slots[0]
    path = write(low.entry.watch_folder, "f.csv")
    assert a.put_nowait(path, low) and b.put_nowait(path, low)
    assert not a.put_nowait(path, low)  # this node offered it already
    await published(a)
    await published(b)
    assert (a.counters.published, b.counters.duplicates) == (1, 1)
    item = await asyncio.wait_for(a.get(), 5)
    assert item.path == path
    a.done(path)
    await asyncio.sleep(0.2)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(b.get(), 1.5)  # acknowledged: nothing left for anyone


async def test_the_most_urgent_band_goes_first(
    two: tuple[JetStream, JetStream], cfg: ClusterConfig, slots: list[ConverterSlot]
) -> None:
    a, b = queue(two[0], cfg, slots), queue(two[1], cfg, slots)
    low, high = slots
    for i in range(5):
        a.put_nowait(write(low.entry.watch_folder, f"{i}.csv"), low)
    await published(a)
    b.put_nowait(write(high.entry.watch_folder, "urgent.json"), high)  # another node, later
    await published(b)
    first = await asyncio.wait_for(a.get(), 5)
    assert first.path.name == "urgent.json"
    assert first.slot.name == "high"


async def test_a_changed_file_drops_its_old_item_and_the_new_version_is_queued(
    two: tuple[JetStream, JetStream], cfg: ClusterConfig, slots: list[ConverterSlot]
) -> None:
    a = queue(two[0], cfg, slots)
    low = slots[0]
    path = write(low.entry.watch_folder, "grow.csv", "1")
    a.put_nowait(path, low)
    await published(a)
    path.write_text("12")  # written again: a new version
    assert a.put_nowait(path, low)
    await published(a)
    item = await asyncio.wait_for(a.get(), 5)
    assert item.path == path
    assert a.counters.stale == 1  # the old version's item was acknowledged and dropped


async def test_a_handed_back_item_is_taken_again(
    two: tuple[JetStream, JetStream], cfg: ClusterConfig, slots: list[ConverterSlot]
) -> None:
    a, b = queue(two[0], cfg, slots), queue(two[1], cfg, slots)
    low = slots[0]
    path = write(low.entry.watch_folder, "later.csv")
    a.put_nowait(path, low)
    await published(a)
    item = await asyncio.wait_for(a.get(), 5)
    a.done(item.path)  # the pool's `_later`: done, then offered again with a delay
    a.put_nowait(item.path, item.slot, 0.2)
    again = await asyncio.wait_for(b.get(), 5)  # any node takes it after the delay
    assert again.path == path
    assert a.counters.handed_back == 1


async def test_an_item_of_a_node_that_stops_answering_goes_to_another(
    two: tuple[JetStream, JetStream], cfg: ClusterConfig, slots: list[ConverterSlot]
) -> None:
    a, b = queue(two[0], cfg, slots), queue(two[1], cfg, slots)
    low = slots[0]
    path = write(low.entry.watch_folder, "orphan.csv")
    os.utime(path, (1, 1))
    a.put_nowait(path, low)
    await published(a)
    await asyncio.wait_for(a.get(), 5)  # taken, never renewed nor acknowledged: a dead node
    again = await asyncio.wait_for(b.get(), 5)  # after ack_wait_s (1 s)
    assert again.path == path
