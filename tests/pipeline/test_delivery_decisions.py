"""Delivery's decisions against the real local server, with time on a `ManualClock`.

The server answers over real loopback HTTP (its `faults` give 5xx, 429, 401); every wait that
delivery decides (backoff, Retry-After, the outage gate, the pause probe, `retry.max_age_s`)
passes only when the test advances the clock, so nothing here sleeps for a decision. `until`
waits for the server's real answers (I/O), never for a backoff.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from wats_converter import admin
from wats_converter.config import RetryConfig
from wats_converter.pipeline.delivery import Delivery, Origin
from wats_converter.server.fixture import ServerThread
from wats_converter.stats import ServiceStats
from wats_converter.storage.outbox import OutboxEntry, body_path, meta_path
from wats_converter.testing import ManualClock, minimal_report, station_config
from wats_converter.wats_client import WatsClient

SLOW = RetryConfig(initial_s=10, max_s=60)


async def until(condition: Callable[[], bool], what: str, limit_s: float = 15.0) -> None:
    """Until the server's answers (real I/O) made `condition` true."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.005)


def make(
    tmp_path: Path, server: ServerThread, clock: ManualClock, retry: RetryConfig = SLOW
) -> Delivery:
    return Delivery(
        tmp_path / "pending",
        WatsClient(server.url, server.token, timeout_s=5),
        retry=retry,
        error_folder=tmp_path / "error",
        stats=ServiceStats(),
        clock=clock,
    )


@asynccontextmanager
async def running(delivery: Delivery) -> AsyncIterator[Delivery]:
    task = asyncio.create_task(delivery.run())
    try:
        yield delivery
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await delivery.client.aclose()


def report(sn: str) -> tuple[str, bytes]:
    r = minimal_report(sn)
    return str(r.id), r.to_wsjf()


def rejected_report(sn: str) -> tuple[str, bytes]:
    """A report the server refuses with 400 (a comparison operator WATS does not know)."""
    doc = minimal_report(sn).to_dict()
    doc["root"]["steps"][0]["numericMeas"][0]["compOp"] = "GTE"
    return doc["id"], json.dumps(doc).encode()


def attempts(delivery: Delivery, outcome: str) -> int:
    return delivery.stats.submit_attempts[outcome]


async def test_a_transient_failure_waits_its_backoff_then_is_sent(
    tmp_path: Path, server: ServerThread
) -> None:
    clock = ManualClock()
    delivery = make(tmp_path, server, clock)
    server.faults.add(mode="status", status=503, count=1)
    report_id, body = report("BACKOFF")
    assert await delivery.deliver([(report_id, body)]) == 0
    async with running(delivery):
        await clock.advance(4.9)  # the first backoff is 5..10 s (initial_s 10, jitter)
        assert delivery.schedule.in_flight() == 0 and attempts(delivery, "transient") == 1
        assert server.store.get(report_id) is None
        await clock.advance(5.2)
        await until(lambda: len(delivery) == 0, "sent after its backoff")
    assert server.store.get(report_id) is not None
    assert list((tmp_path / "pending").iterdir()) == []


async def test_retry_after_outweighs_a_shorter_backoff(
    tmp_path: Path, server: ServerThread
) -> None:
    clock = ManualClock()
    delivery = make(tmp_path, server, clock, RetryConfig(initial_s=1, max_s=60))
    server.faults.add(mode="status", status=429, retry_after=120, count=1)
    report_id, body = report("RETRY-AFTER")
    assert await delivery.deliver([(report_id, body)]) == 0
    async with running(delivery):
        await clock.advance(119)
        assert delivery.schedule.in_flight() == 0 and attempts(delivery, "ok") == 0
        await clock.advance(2)
        await until(lambda: len(delivery) == 0, "sent after Retry-After")
    assert attempts(delivery, "transient") == 1 and attempts(delivery, "ok") == 1


async def test_a_report_not_accepted_within_max_age_goes_to_its_own_error_folder(
    tmp_path: Path, server: ServerThread
) -> None:
    clock = ManualClock()
    retry = RetryConfig(initial_s=10, max_s=60, max_age_s=600)
    delivery = make(tmp_path, server, clock, retry)
    server.stop_listening()
    report_id, body = report("TOO-OLD")
    origin = Origin("/station/line3/unit.json", "Line 3", tmp_path / "line3-errors")
    assert await delivery.deliver([(report_id, body)], origin) == 0
    async with running(delivery):
        await clock.advance(590)
        await until(lambda: delivery.schedule.in_flight() == 0, "the retry answered")
        assert len(delivery) == 1  # still young enough: retried, not filed
        await clock.advance(70)
        await until(lambda: len(delivery) == 0, "filed as too old")
    error = json.loads((tmp_path / "line3-errors" / f"{report_id}.json.error").read_text())
    assert "retry.max_age_s (600 s)" in error["exception"]
    assert error["source_folder"] == "/station/line3/unit.json" and error["converter"] == "Line 3"
    assert (tmp_path / "line3-errors" / f"{report_id}.json").read_bytes() == body
    assert list((tmp_path / "pending").iterdir()) == []


async def test_an_outage_holds_everything_behind_one_probe_and_its_success_releases_all(
    tmp_path: Path, server: ServerThread
) -> None:
    clock = ManualClock()
    delivery = make(tmp_path, server, clock)
    server.stop_listening()
    for i in range(10):
        assert await delivery.deliver([report(f"DOWN{i}")]) == 0
    # three direct sends failed, then the outage gate held the others back: spooled unsent
    assert attempts(delivery, "transient") == 3 and len(delivery) == 10
    async with running(delivery):
        before = attempts(delivery, "transient")
        for _ in range(3):  # each time the gate opens, one probe asks; nobody else sends
            await clock.advance(61)
            await until(lambda: delivery.schedule.in_flight() == 0, "the probe answered")
        probes = attempts(delivery, "transient") - before
        # 10 reports on their own backoffs would have been sent 20 times or more by now
        assert 3 <= probes <= 6 and len(delivery) == 10
        server.resume_listening()
        await clock.advance(61)  # the next probe finds the server back ...
        await until(lambda: len(delivery) == 0, "every report sent")  # ... and releases all
        assert clock.now() < 1000 + 4 * 61 + 1  # without waiting out anyone's own backoff
    assert server.store.count() == 10
    assert set(server.counters()["posts"].values()) == {1}


async def test_unauthorized_pauses_until_the_probe_is_let_in_then_everything_is_sent(
    tmp_path: Path, server: ServerThread
) -> None:
    clock = ManualClock()
    delivery = make(tmp_path, server, clock, RetryConfig(initial_s=5, max_s=60))
    server.faults.add(mode="status", status=401, count=1)
    first, second = report("PAUSE-1"), report("PAUSE-2")
    async with running(delivery):
        assert await delivery.deliver([first]) == 0
        assert delivery.paused and "token" in delivery.stats.paused_reason
        assert await delivery.deliver([second]) == 0  # paused: straight to the outbox
        assert attempts(delivery, "paused") == 1 and attempts(delivery, "ok") == 0
        await clock.advance(4)  # the probe waits 5 s
        assert delivery.paused and server.store.count() == 0
        await clock.advance(1.5)
        await until(lambda: len(delivery) == 0, "sent after the pause")
    assert not delivery.paused and delivery.stats.paused_reason == ""
    assert server.store.count() == 2 and not (tmp_path / "error").exists()


async def test_pending_retry_sends_one_report_now_whatever_its_backoff(
    tmp_path: Path, server: ServerThread
) -> None:
    clock = ManualClock()
    delivery = make(tmp_path, server, clock)
    server.faults.add(mode="status", status=503, retry_after=3000, count=1)
    waiting, asked = report("WAITING"), report("ASKED")
    for r in (waiting, asked):
        assert await delivery.deliver([r]) == 0
    async with running(delivery):
        assert delivery.retry_now("no-such-report") == 0
        assert delivery.retry_now(asked[0]) == 1
        await until(lambda: len(delivery) == 1, "the asked report sent")
        assert server.store.get(asked[0]) is not None and server.store.get(waiting[0]) is None
        assert delivery.retry_now() == 1
        await until(lambda: len(delivery) == 0, "every report sent")


async def test_a_rejected_report_fixed_and_requeued_is_sent_and_keeps_its_origin(
    tmp_path: Path, server: ServerThread
) -> None:
    config = station_config(tmp_path, {"class_name": "WSJFConverter", "error_folder": "err"})
    clock = ManualClock()
    delivery = make(tmp_path, server, clock)
    report_id, bad = rejected_report("REQUEUED")
    origin = Origin(str(tmp_path / "watch" / "unit.json"), "WSJFConverter", tmp_path / "err")
    async with running(delivery):
        assert await delivery.deliver([(report_id, bad)], origin) == 0
        failed = admin.find_failed(config, f"{report_id}.json")
        assert failed.detail["error_type"] == "ReportRejected"
        fixed = json.loads(bad)
        fixed["root"]["steps"][0]["numericMeas"][0]["compOp"] = "GE"
        failed.path.write_text(json.dumps(fixed))
        target = admin.requeue(config, failed)
        assert target == body_path(config.pending_folder, report_id)
        entry = OutboxEntry.from_json(
            report_id, meta_path(config.pending_folder, report_id).read_bytes()
        )
        assert (entry.source, entry.converter) == (origin.source, "WSJFConverter")
        assert delivery.retry_now(report_id) == 1  # what the service does on the request
        await until(lambda: len(delivery) == 0, "the requeued report sent")
    stored = server.store.get(report_id)
    assert stored is not None and stored["sn"] == "REQUEUED"
    assert list((tmp_path / "err").iterdir()) == []


async def test_after_a_restart_a_rejected_report_goes_to_its_converters_error_folder_with_its_source(
    tmp_path: Path, server: ServerThread
) -> None:
    """Bug 1 of issue 19: the origin of a spooled report lived only in memory."""
    report_id, bad = rejected_report("AFTER-RESTART")
    origin = Origin("/station/line3/unit.json", "Line 3", tmp_path / "line3-errors")
    before = make(tmp_path, server, ManualClock())
    server.stop_listening()
    assert await before.deliver([(report_id, bad)], origin) == 0
    await before.client.aclose()
    server.resume_listening()

    clock = ManualClock()
    after = make(tmp_path, server, clock)  # a new start: the default error folder is error/
    assert after.recover() == 1
    async with running(after):
        await until(lambda: len(after) == 0, "filed")
    error = json.loads((tmp_path / "line3-errors" / f"{report_id}.json.error").read_text())
    assert error["source_folder"] == "/station/line3/unit.json"
    assert error["converter"] == "Line 3" and error["error_type"] == "ReportRejected"
    assert not (tmp_path / "error").exists()
    assert list((tmp_path / "pending").iterdir()) == []


async def test_reports_spooled_by_an_older_version_are_migrated_and_sent(
    tmp_path: Path, server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    pending = tmp_path / "pending"
    pending.mkdir()
    old = [minimal_report(f"OLD{i}") for i in range(3)]
    for r in old:
        (pending / f"{r.id}.json.queued").write_bytes(r.to_wsjf())
    (pending / "3f1c7a52-0000-4000-8000-000000000000.json.meta").write_text("{}")  # orphan
    delivery = make(tmp_path, server, ManualClock())
    with caplog.at_level("INFO"):
        assert delivery.recover() == 3
    assert "3 pending reports were written by an older version" in caplog.text
    assert sorted(p.name for p in pending.iterdir()) == sorted(
        n for r in old for n in (f"{r.id}.json.queued", f"{r.id}.json.meta")
    )
    async with running(delivery):
        await until(lambda: len(delivery) == 0, "sent")
    assert server.store.count() == 3 and list(pending.iterdir()) == []


async def test_stopping_delivery_while_paused_stops_its_probe(
    tmp_path: Path, server: ServerThread
) -> None:
    """Bug 2 of issue 19: the probe was a bare task; after a reload the old one kept polling
    on the old client (and its session leaked)."""
    delivery = make(tmp_path, server, ManualClock())
    server.faults.add(mode="status", status=401, count=1)
    async with running(delivery):
        assert await delivery.deliver([report("PAUSED")]) == 0
        assert delivery.paused
        await asyncio.sleep(0)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
