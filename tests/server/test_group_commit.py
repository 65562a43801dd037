"""Group commit: reports share transactions, and every report answered 2xx is on disk."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import threading
import uuid
from pathlib import Path

import pytest

from tests.faults.scenario import tiny_tmpfs
from wats_converter.server.commit import CommitClosed, GroupCommit
from wats_converter.server.fixture import ServerProcess, ServerThread
from wats_converter.server.store import ReportStore, Row, row_of
from wats_converter.testing import minimal_report, rich_report


class GatedStore(ReportStore):
    """A store whose next commit waits for the test to open the gate (a slow disk)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batch_sizes: list[int] = []

    def insert(self, rows: list[Row]) -> list[int | BaseException]:  # type: ignore[override]
        self.entered.set()
        self.gate.wait(timeout=30)
        self.batch_sizes.append(len(rows))
        return super().insert(rows)


def rows(count: int, prefix: str = "SN") -> list[Row]:
    return [row_of(minimal_report(f"{prefix}{i}")) for i in range(count)]


async def test_reports_queued_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "s.sqlite")
    commits = GroupCommit(store)
    commits.start()
    try:
        first = asyncio.ensure_future(commits.save(rows(1, "FIRST")[0]))
        await asyncio.to_thread(store.entered.wait, 10)  # the first commit is under way
        rest = [asyncio.ensure_future(commits.save(r)) for r in rows(5)]
        await asyncio.sleep(0.05)
        assert not first.done() and not any(f.done() for f in rest)  # nobody answered early
        store.gate.set()
        numbers = await asyncio.gather(first, *rest)
    finally:
        await commits.stop()
    assert store.batch_sizes == [1, 5]
    assert commits.batches == 2
    assert len(set(numbers)) == 6 and store.count() == 6
    store.close()


async def test_stop_commits_what_was_queued_and_later_saves_are_refused(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "s.sqlite")
    commits = GroupCommit(store)
    commits.start()
    saves = [asyncio.ensure_future(commits.save(r)) for r in rows(4)]
    await asyncio.to_thread(store.entered.wait, 10)
    stopping = asyncio.ensure_future(commits.stop())
    await asyncio.sleep(0.05)
    store.gate.set()
    await stopping
    assert all(isinstance(n, int) for n in await asyncio.gather(*saves))
    assert store.count() == 4
    with pytest.raises(CommitClosed):
        await commits.save(rows(1, "LATE")[0])
    store.close()


def test_a_bad_row_fails_alone_and_its_batch_mates_are_stored(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "s.sqlite")
    good = rows(2)
    bad = (*good[0][:1], None, *good[0][2:])  # no part number: the schema refuses it
    results = store.insert([good[0], bad, good[1]])  # type: ignore[list-item]
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], Exception) and "NOT NULL" in str(results[1])
    assert store.serial_counts() == {"SN0": 1, "SN1": 1}
    store.close()


def test_a_reopened_store_has_every_committed_report_reopening_with_every_committed_report(
    tmp_path: Path,
) -> None:
    store = ReportStore(tmp_path / "s.sqlite")
    report = rich_report("SN-REOPEN")
    body = report.to_wsjf()
    store.insert([row_of(report, body)])
    store.close()
    again = ReportStore(tmp_path / "s.sqlite")
    assert again.get(str(report.id)) == json.loads(body)
    again.close()


def _request(port: int, body: bytes) -> bytes:
    return (
        b"POST /api/Report/WSJF HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Authorization: Basic test-token\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (port, len(body), body)
    )


async def _post_until_killed(
    server: ServerProcess, bodies: list[bytes], kill_after: int
) -> list[str]:
    """Post on 8 connections; SIGKILL the server as soon as `kill_after` answers arrived.
    Returns the ids answered 200 (including any that arrive while it dies)."""
    port = int(server.url.rsplit(":", 1)[1])
    queue, answered = list(bodies), []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while queue:
                writer.write(_request(port, queue.pop()))
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length:\s*(\d+)", head)
                payload = await reader.readexactly(int(length.group(1)) if length else 0)
                if head.startswith(b"HTTP/1.1 200"):
                    answered.append(json.loads(payload)["ID"])
                    if len(answered) == kill_after:
                        server.proc.send_signal(signal.SIGKILL)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the server died under this connection
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(8)))
    return answered


@pytest.mark.parametrize("make", [minimal_report, rich_report], ids=["1kb", "56kb"])
async def test_every_report_answered_2xx_is_stored_after_a_sigkill(
    tmp_path: Path, make: type
) -> None:
    db = tmp_path / "server.sqlite"
    server = ServerProcess(db)
    reports = [make(f"KILL-{i:04d}") for i in range(400)]
    for report in reports:
        report.id = uuid.uuid4()  # the rich sample always has the same id
    bodies = {str(r.id): r.to_wsjf() for r in reports}
    try:
        answered = await _post_until_killed(server, list(bodies.values()), kill_after=150)
        assert server.proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        server.close()
    assert len(answered) >= 150
    store = ReportStore(db)
    try:
        missing = [rid for rid in answered if store.get(rid) is None]
        assert missing == [], f"{len(missing)} reports answered 200 were lost"
        for rid in answered[:20] + answered[-20:]:
            assert store.get(rid) == json.loads(bodies[rid])  # as sent, whole
    finally:
        store.close()


async def test_a_full_disk_gets_503_not_200_and_loses_nothing(tmp_path: Path) -> None:
    import aiohttp

    with tiny_tmpfs(tmp_path / "db", size="2m") as folder:
        server = ServerThread(folder / "server.sqlite")
        try:
            filler = folder / "filler.bin"
            headers = {
                "Authorization": f"Basic {server.token}",
                "Content-Type": "application/json",
            }
            statuses: list[int] = []
            async with aiohttp.ClientSession(headers=headers) as session:
                for i in range(200):  # until the disk is full
                    if i == 1:
                        filler.write_bytes(b"\0" * (1_500_000))
                    report = rich_report(f"FULL-{i}")
                    report.id = uuid.uuid4()
                    url = server.url + "/api/Report/WSJF"
                    async with session.post(url, data=report.to_wsjf()) as resp:
                        statuses.append(resp.status)
                        if resp.status == 200:
                            assert server.store.get(str(report.id)) is not None
                        else:
                            assert server.store.get(str(report.id)) is None
                    if resp.status != 200:
                        break
                assert statuses[-1] == 503, statuses
                filler.unlink()  # space again: the next report is taken
                async with session.post(url, data=report.to_wsjf()) as resp:
                    assert resp.status == 200
            assert server.store.count() == len(statuses)
        finally:
            server.close()
