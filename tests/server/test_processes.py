"""`serve --processes N`: several worker processes on one port, one database, one server."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import psutil
import pytest

from wats_converter.server.fixture import ServerProcess
from wats_converter.server.store import ReportStore
from wats_converter.testing import minimal_report

AUTH = {"Authorization": "Basic t", "Content-Type": "application/json"}


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "s.sqlite", token="t", processes=2)
    try:
        yield server
    finally:
        server.close()


def connections(server: ServerProcess, count: int) -> list[http.client.HTTPConnection]:
    port = int(server.url.rsplit(":", 1)[1])
    opened = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(count)]
    for conn in opened:  # all at once, as a client's pool opens them
        conn.connect()
    time.sleep(0.3)  # each one accepted by a worker
    return opened


def post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", "/api/Report/WSJF", body=body, headers=AUTH)
    answer = conn.getresponse()
    return answer.status, answer.read()


def holder(server: ServerProcess, conn: http.client.HTTPConnection) -> int:
    """The pid of the worker holding this client connection."""
    assert conn.sock is not None
    local = conn.sock.getsockname()[1]
    for worker in psutil.Process(server.proc.pid).children():
        if any(c.raddr and c.raddr.port == local for c in worker.net_connections()):
            return worker.pid
    raise AssertionError("no worker holds the connection")


def test_connections_spread_over_the_workers_and_every_post_is_stored(
    two_workers: ServerProcess,
) -> None:
    opened = connections(two_workers, 8)
    holders = [holder(two_workers, conn) for conn in opened]
    # the worker holding fewer connections takes the next one; a kernel lottery (each
    # connection to either) would leave one worker with 0 or 1 of 8 once in 14 runs
    assert min(holders.count(h) for h in set(holders)) >= 2 and len(set(holders)) == 2
    reports = [minimal_report(f"SN{i}") for i in range(40)]
    numbers = set()
    for i, report in enumerate(reports):
        status, answer = post(opened[i % 8], report.to_wsjf())
        assert status == 200, answer
        assert json.loads(answer)["uuid"] == str(report.id)
        numbers.add(json.loads(answer)["Report_ID"])
    assert len(numbers) == 40  # one database numbers them all
    for conn in opened:
        conn.close()
    two_workers.close()  # both workers stopped: what the database holds is all there is
    store = ReportStore(two_workers.db)
    assert store.count() == 40 and set(store.receive_counts().values()) == {1}
    store.close()


def test_an_id_posted_to_two_workers_is_one_report_received_twice(
    two_workers: ServerProcess,
) -> None:
    opened = connections(two_workers, 4)
    by_worker = {holder(two_workers, conn): conn for conn in opened}
    assert len(by_worker) == 2
    first, second = by_worker.values()
    report = minimal_report("TWICE")
    assert post(first, report.to_wsjf())[0] == 200
    assert post(second, report.to_wsjf())[0] == 200
    second.request(
        "GET",
        "/api/Report/Query/Header?" + urlencode({"$filter": f"uuid eq '{report.id}'"}),
        headers=AUTH,
    )
    headers = json.loads(second.getresponse().read())
    assert [h["receiveCount"] for h in headers] == [2]
    first.request("GET", f"/api/Report/Wsjf/{report.id}", headers=AUTH)
    assert json.loads(first.getresponse().read())["sn"] == "TWICE"
    # the token is every worker's
    for conn in by_worker.values():  # every worker takes the token, and only the token
        conn.request(
            "POST", "/api/Report/WSJF", body=b"{}", headers={**AUTH, "Authorization": "Basic x"}
        )
        answer = conn.getresponse()
        assert answer.status == 401, answer.read()
        answer.read()


def test_workers_end_with_the_server_even_when_it_is_killed(two_workers: ServerProcess) -> None:
    workers = psutil.Process(two_workers.proc.pid).children()
    assert len(workers) == 2
    os.kill(two_workers.proc.pid, signal.SIGKILL)
    two_workers.proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=20)
    assert alive == [] and len(gone) == 2


def test_the_admin_api_and_fault_plans_need_one_process(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "wats_converter",
            "serve",
            "--admin",
            "--processes",
            "2",
            "--db",
            db,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "--admin and --faults need --processes 1" in run.stderr


def test_the_token_reaches_the_workers_off_their_command_lines(two_workers: ServerProcess) -> None:
    """Any user can read a process's command line; only its owner can read its environment."""
    workers = psutil.Process(two_workers.proc.pid).children()
    assert len(workers) == 2
    assert all("--token" not in w.cmdline() for w in workers)
    opened = connections(two_workers, 4)
    assert len({holder(two_workers, c) for c in opened}) == 2
    for conn in opened:  # every worker checks the token
        conn.request("POST", "/api/Report/WSJF", body=minimal_report("SN-T").to_wsjf())
        refused = conn.getresponse()
        refused.read()
        assert refused.status == 401
        assert post(conn, minimal_report("SN-T").to_wsjf())[0] == 200
