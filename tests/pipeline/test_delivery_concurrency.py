"""Many reports in flight at once against the real local server, bounded by the adaptive limit.

Real time here: the limit learns from real round trips (the server's `delay` fault holds each
POST for a while, as a WATS server across a WAN does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

from wats_converter.config import RetryConfig
from wats_converter.pipeline.delivery import Delivery, Origin
from wats_converter.server.fixture import ServerThread
from wats_converter.stats import ServiceStats
from wats_converter.testing import minimal_report
from wats_converter.wats_client import WatsClient


def delivery_for(tmp_path: Path, server: ServerThread, connections: int) -> Delivery:
    return Delivery(
        tmp_path / "pending",
        WatsClient(server.url, server.token, timeout_s=10, max_connections=connections),
        retry=RetryConfig(initial_s=0.05, max_s=0.2),
        error_folder=tmp_path / "error",
        stats=ServiceStats(),
    )


async def hand_over(
    delivery: Delivery, reports: list[tuple[str, bytes]], origin: Origin | None = None
) -> asyncio.Future[int]:
    """Hand over as the worker pool does; the future is done with what `then` was given."""
    acknowledged: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def then(delivered: Awaitable[int]) -> None:
        try:
            acknowledged.set_result(await delivered)
        except Exception as exc:
            acknowledged.set_exception(exc)

    await delivery.hand_over(reports, origin or Origin(), then=then)
    return acknowledged


async def test_a_slow_server_gets_many_reports_at_once_and_each_is_acknowledged_once(
    tmp_path: Path, server: ServerThread
) -> None:
    server.faults.add(mode="delay", ms=100, count=400)
    delivery = delivery_for(tmp_path, server, connections=32)
    reports = [minimal_report(f"SLOW{i}") for i in range(400)]
    task = asyncio.create_task(delivery.run())
    try:
        acks = [
            await hand_over(delivery, [(str(r.id), r.to_wsjf())], Origin(f"/st/{i}.json"))
            for i, r in enumerate(reports)
        ]
        assert await asyncio.wait_for(asyncio.gather(*acks), 60) == [1] * 400
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await delivery.client.aclose()
    assert server.store.count() == 400 and set(server.counters()["posts"].values()) == {1}
    # it grew past the 4 of a fixed pool, and never past the configured maximum
    assert 16 <= delivery.limit.peak_in_flight <= 32
    assert not (tmp_path / "pending").exists() or list((tmp_path / "pending").iterdir()) == []


async def test_an_overloaded_server_shrinks_the_limit_and_nothing_is_lost(
    tmp_path: Path, server: ServerThread
) -> None:
    delivery = delivery_for(tmp_path, server, connections=32)
    delivery.limit.limit = 32
    server.faults.add(mode="status", status=503, count=40)
    reports = [minimal_report(f"BUSY{i}") for i in range(40)]
    task = asyncio.create_task(delivery.run())
    try:
        acks = [await hand_over(delivery, [(str(r.id), r.to_wsjf())]) for r in reports]
        await asyncio.wait_for(asyncio.gather(*acks), 30)
        assert delivery.limit.limit < 32  # 503s: the limit came down
        await asyncio.wait_for(delivery.wait_empty(), 30)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await delivery.client.aclose()
    assert server.store.count() == 40 and set(server.counters()["posts"].values()) == {1}
