"""Delivery against the real local server: recovery, classification, never blocking."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from wats_converter.clock import SYSTEM_CLOCK, Clock
from wats_converter.config import RetryConfig
from wats_converter.pipeline.delivery import Delivery, Origin
from wats_converter.report import UUTReport
from wats_converter.server.fixture import ServerThread
from wats_converter.stats import ServiceStats
from wats_converter.testing import ManualClock, minimal_report
from wats_converter.wats_client import WatsClient

FAST = RetryConfig(initial_s=0.02, max_s=0.2)


def queue_for(
    tmp_path: Path, server: ServerThread, clock: Clock = SYSTEM_CLOCK, **retry: float
) -> Delivery:
    client = WatsClient(server.url, server.token, timeout_s=5)
    return Delivery(
        tmp_path / "pending",
        client,
        retry=FAST.model_copy(update=retry),
        error_folder=tmp_path / "error",
        stats=ServiceStats(),
        clock=clock,
    )


async def advance_until(clock: ManualClock, done: Callable[[], bool], step_s: float) -> None:
    """Move the clock on by `step_s` at a time (letting the server's answers in between) until
    `done`."""
    for _ in range(2000):
        if done():
            return
        await clock.advance(step_s)
        await asyncio.sleep(0.002)  # real I/O: the server's answers arrive
    raise AssertionError("never done")


def left_pending(tmp_path: Path, reports: list[UUTReport]) -> None:
    """Reports an earlier run left in pending/."""
    pending = tmp_path / "pending"
    pending.mkdir(exist_ok=True)
    for report in reports:
        (pending / f"{report.id}.json.queued").write_bytes(report.to_wsjf())


async def run_until_empty(queue: Delivery, limit_s: float = 20) -> None:
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
    clock = ManualClock()
    queue = queue_for(tmp_path, server, clock)
    server.stop_listening()
    left_pending(tmp_path, [minimal_report(f"SN{i}") for i in range(30)])
    assert queue.recover() == 30
    task = asyncio.create_task(queue.run())
    for _ in range(20):  # one second of the outage, in 50 ms steps
        await clock.advance(0.05)
        await asyncio.sleep(0.002)
    await advance_until(clock, lambda: queue.stats.submit_attempts["transient"] >= 3, 0.05)
    assert len(queue) == 30 and queue.stats.submit_attempts["transient"] >= 3
    attempts_while_down = queue.stats.submit_attempts["transient"]
    server.resume_listening()
    await advance_until(clock, lambda: len(queue) == 0, 0.05)
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
    clock = ManualClock()
    queue = queue_for(tmp_path, server, clock, initial_s=0.1)
    server.faults.add(mode="status", status=401, count=1)
    left_pending(tmp_path, [minimal_report()])
    queue.recover()
    task = asyncio.create_task(queue.run())
    await advance_until(clock, lambda: queue.paused, 0.0)
    assert queue.paused and "token" in queue.stats.paused_reason
    await advance_until(clock, lambda: len(queue) == 0, 0.5)  # the probe, every second or more
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await queue.client.aclose()
    assert not queue.paused and server.store.count() == 1
    assert not (tmp_path / "error").exists()


async def test_deliver_goes_straight_to_an_answering_server_and_through_pending_otherwise(
    tmp_path: Path, server: ServerThread
) -> None:
    queue = queue_for(tmp_path, server)
    pending = tmp_path / "pending"
    first = minimal_report("DIRECT")
    assert await queue.deliver([(str(first.id), first.to_wsjf())]) == 1
    assert server.store.get(str(first.id)) is not None
    assert not pending.exists() or list(pending.iterdir()) == []

    server.faults.add(mode="status", status=503, count=1)
    second = minimal_report("SPOOLED")
    assert await queue.deliver([(str(second.id), second.to_wsjf())]) == 0
    assert sorted(p.name for p in pending.iterdir()) == [
        f"{second.id}.json.meta",
        f"{second.id}.json.queued",
    ]
    assert (pending / f"{second.id}.json.queued").read_bytes() == second.to_wsjf()
    assert server.store.get(str(second.id)) is None
    await run_until_empty(queue)
    assert server.store.get(str(second.id)) is not None and list(pending.iterdir()) == []
    assert server.counters()["posts"] == {str(first.id): 1, str(second.id): 1}
    assert queue.stats.submit_attempts == {"ok": 2, "transient": 1}


async def test_a_report_refused_on_direct_delivery_is_filed_without_a_second_post(
    tmp_path: Path, server: ServerThread
) -> None:
    queue = queue_for(tmp_path, server)
    bad = minimal_report("BAD").to_dict()
    bad["root"]["steps"][0]["numericMeas"][0]["compOp"] = "GTE"
    sent = await queue.deliver(
        [(bad["id"], json.dumps(bad).encode())], Origin(source="/st/bad.json")
    )
    assert sent == 0 and len(queue) == 0
    assert server.counters()["invalid"] == 1 and server.store.count() == 0
    error = json.loads((tmp_path / "error" / f"{bad['id']}.json.error").read_text())
    assert error["error_type"] == "ReportRejected" and "'GTE'" in error["exception"]
    assert error["source_folder"] == "/st/bad.json"
    assert (tmp_path / "error" / f"{bad['id']}.json").exists()
    await queue.client.aclose()


async def test_a_report_already_pending_is_never_overtaken_by_a_direct_send(
    tmp_path: Path, server: ServerThread
) -> None:
    """An older body waiting in pending/ would overwrite a newer one sent past it."""
    queue = queue_for(tmp_path, server)
    old = minimal_report("SAME")
    left_pending(tmp_path, [old])
    queue.recover()
    new = old.model_copy(update={"sn": "SAME-NEWER"})
    assert await queue.deliver([(str(new.id), new.to_wsjf())]) == 0
    await run_until_empty(queue)
    stored = server.store.get(str(old.id))
    assert stored is not None and stored["sn"] == "SAME-NEWER"


async def test_in_an_outage_with_nothing_pending_a_direct_send_probes_the_server(
    tmp_path: Path, server: ServerThread
) -> None:
    clock = ManualClock()
    queue = queue_for(tmp_path, server, clock, initial_s=0.5)
    server.stop_listening()
    down = [minimal_report(f"DOWN{i}") for i in range(4)]
    for r in down:
        assert await queue.deliver([(str(r.id), r.to_wsjf())]) == 0
    assert queue.stats.submit_attempts["transient"] == 3  # the fourth waited: outage
    server.resume_listening()
    held = minimal_report("HELD")
    assert await queue.deliver([(str(held.id), held.to_wsjf())]) == 0  # still held back
    assert queue.stats.submit_attempts["transient"] == 3
    await clock.advance(0.6)  # the outage backoff (0.25..0.5 s) is over
    back = minimal_report("BACK")
    assert await queue.deliver([(str(back.id), back.to_wsjf())]) == 1
    await run_until_empty(queue)
    assert server.store.count() == 6
