"""AsyncPendingQueue against the real local server: recovery, classification, never blocking."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from wats_converter.config import RetryConfig
from wats_converter.pipeline.pending_queue import AsyncPendingQueue
from wats_converter.pipeline.stats import ServiceStats
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import minimal_report
from wats_converter.wats_client import WatsClient

FAST = RetryConfig(initial_s=0.02, max_s=0.2)


def queue_for(tmp_path: Path, server: ServerThread, **retry: float) -> AsyncPendingQueue:
    client = WatsClient(server.url, server.token, timeout_s=5)
    return AsyncPendingQueue(
        tmp_path / "pending",
        client,
        retry=FAST.model_copy(update=retry),
        error_folder=tmp_path / "error",
        stats=ServiceStats(),
    )


async def run_until_empty(queue: AsyncPendingQueue, limit_s: float = 20) -> None:
    task = asyncio.create_task(queue.run())
    try:
        await asyncio.wait_for(queue.wait_empty(), limit_s)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await queue.client.aclose()


async def test_reports_left_by_an_earlier_run_are_recovered_and_sent(
    tmp_path: Path, server: ServerThread
) -> None:
    pending = tmp_path / "pending"
    pending.mkdir()
    reports = [minimal_report(f"SN{i}") for i in range(5)]
    for r in reports:
        (pending / f"{r.id}.json.queued").write_bytes(r.to_wsjf())
    (pending / f".{reports[0].id}.json.queued.123.tmp").write_bytes(b"{half")
    queue = queue_for(tmp_path, server)
    assert queue.recover() == 5
    await run_until_empty(queue)
    assert server.store.count() == 5 and list(pending.iterdir()) == []


async def test_malformed_and_rejected_reports_go_to_error_without_blocking_others(
    tmp_path: Path, server: ServerThread
) -> None:
    pending = tmp_path / "pending"
    pending.mkdir()
    (pending / "11111111-1111-4111-8111-111111111111.json.queued").write_bytes(b'{"truncat')
    bad = minimal_report("BAD").to_dict()
    bad["root"]["steps"][0]["numericMeas"][0]["compOp"] = "GTE"
    (pending / f"{bad['id']}.json.queued").write_text(json.dumps(bad))
    good = [minimal_report(f"OK{i}") for i in range(3)]
    for r in good:
        (pending / f"{r.id}.json.queued").write_bytes(r.to_wsjf())
    queue = queue_for(tmp_path, server)
    queue.recover()
    await run_until_empty(queue)
    assert server.store.count() == 3
    errors = sorted((tmp_path / "error").glob("*.error"))
    assert len(errors) == 2
    details = [json.loads(e.read_text()) for e in errors]
    assert all(
        d["error_type"] == "ReportRejected" and "HTTP 400" in d["exception"] for d in details
    )
    assert any("'GTE' is not a comparison operator" in d["exception"] for d in details)


async def test_a_server_outage_is_waited_out_and_everything_is_sent_once(
    tmp_path: Path, server: ServerThread
) -> None:
    queue = queue_for(tmp_path, server)
    server.stop_listening()
    reports = [minimal_report(f"SN{i}") for i in range(30)]
    for r in reports:
        await queue.spool([(str(r.id), r.to_wsjf())])
    task = asyncio.create_task(queue.run())
    await asyncio.sleep(1.0)
    assert len(queue) == 30 and queue.stats.submit_attempts["transient"] >= 3
    attempts_while_down = queue.stats.submit_attempts["transient"]
    server.resume_listening()
    await asyncio.wait_for(queue.wait_empty(), 20)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await queue.client.aclose()
    assert server.store.count() == 30
    assert set(server.counters()["posts"].values()) == {1}
    # while down, one probe at a time: far fewer attempts than 30 reports x retries
    assert attempts_while_down < 40


async def test_unauthorized_pauses_and_resumes_when_the_token_works_again(
    tmp_path: Path, server: ServerThread
) -> None:
    queue = queue_for(tmp_path, server, initial_s=0.1)
    server.faults.add(mode="status", status=401, count=1)
    report = minimal_report()
    await queue.spool([(str(report.id), report.to_wsjf())])
    task = asyncio.create_task(queue.run())
    await asyncio.sleep(0.05)
    assert queue.paused and "token" in queue.stats.paused_reason
    await asyncio.wait_for(queue.wait_empty(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await queue.client.aclose()
    assert not queue.paused and server.store.count() == 1
    assert not (tmp_path / "error").exists()
