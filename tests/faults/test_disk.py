"""Disk trouble: a full pending folder, unwritable done/ and error/ folders, unreadable pending
reports, a read-only state folder. Nothing is lost; everything recovers once the disk does.

A real small tmpfs gives a real ENOSPC (mounting needs root). Permission tests need a service
that meets file permissions as a station's service account does: run as root, it keeps its user
(so it can still reach the project wherever CI cloned it) but loses, through setpriv, the two
capabilities with which root ignores permissions; any other user meets them already.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.scenario import tiny_tmpfs
from tests.service.harness import Station, single_converter, wait_until, write_settled
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator, minimal_report

IS_ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")


def json_station(root: Path, server: ServerThread, **settings: object) -> Station:
    return single_converter(root, server, "WSJFConverter", **settings)


@pytest.fixture
def tiny_pending(tmp_path: Path) -> Iterator[Path]:
    with tiny_tmpfs(tmp_path / "pending") as pending:
        yield pending


def fill(folder: Path, leave_bytes: int) -> Path:
    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free
    with filler.open("wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))
    return filler


def test_full_pending_disk_keeps_files_waiting_and_resumes(
    tiny_pending: Path, tmp_path: Path, server: ServerThread
) -> None:
    """pending/ is needed only while the server does not take reports: then a full disk makes
    files wait in place; once the server answers they go straight to it, disk still full."""
    station = json_station(tmp_path, server, min_free_bytes=0)
    filler = fill(tiny_pending, 8 * 1024)
    server.faults.add(mode="status", status=503, count=100_000)
    files = TestFileGenerator.generate_batch(station.folder("watch"), "json", 6, rows=100)
    station.start()
    wait_until(lambda: "No space left" in station.log(), 30, "ENOSPC seen", station)
    time.sleep(1.0)
    assert len(station.files("watch")) == 6 and station.files("error") == []
    assert server.store.count() == 0
    server.faults.clear()
    wait_until(lambda: server.store.count() == 6, 60, "delivered with the disk still full", station)
    wait_until(lambda: len(station.files("done")) == 6, 20, "moved", station)
    assert filler.exists() and station.files("pending", "*.queued") == []
    assert {p.name for p in station.files("done")} == {p.name for p in files}
    # and with space back, an outage is ridden out through pending/ again
    filler.unlink()
    server.faults.add(mode="status", status=503, count=5)
    more = TestFileGenerator.generate_batch(
        station.folder("watch"), "json", 3, rows=100, prefix="after"
    )
    wait_until(lambda: server.store.count() == 9, 60, "delivered after the outage", station)
    wait_until(lambda: len(station.files("done")) == 9, 20, "moved", station)
    assert station.stop() == 0
    assert {p.name for p in station.files("done")} == {p.name for p in files + more}


def test_low_disk_space_pauses_intake_before_writes_fail(
    tiny_pending: Path, tmp_path: Path, server: ServerThread
) -> None:
    station = json_station(tmp_path, server, min_free_bytes=128 * 1024)
    filler = fill(tiny_pending, 64 * 1024)
    TestFileGenerator.generate_batch(station.folder("watch"), "json", 4)
    station.start()
    wait_until(lambda: "new files wait in their folders" in station.log(), 30, "paused", station)
    assert server.store.count() == 0 and len(station.files("watch")) == 4
    filler.unlink()
    wait_until(lambda: server.store.count() == 4, 60, "resumed", station)
    assert station.stop() == 0
    assert "disk space is back" in station.log()


@pytest.fixture
def permissions_apply(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A station folder, and the command prefix under which the service meets file permissions."""
    prefix: list[str] = []
    if IS_ROOT:
        if SETPRIV is None:
            pytest.skip(
                "running as root without setpriv (util-linux): root ignores file permissions, "
                "and setpriv is what takes that power away from the service under test"
            )
        prefix = [SETPRIV, "--bounding-set=-dac_override,-dac_read_search"]
    try:
        yield tmp_path, prefix
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(tmp_path)], check=False)


def test_unwritable_done_and_error_folders_lose_nothing_and_recover(
    permissions_apply: tuple[Path, list[str]], server: ServerThread
) -> None:
    root, prefix = permissions_apply
    station = json_station(root, server, prefix=prefix)
    for locked in (root / "done", root / "error"):
        locked.mkdir()
        locked.chmod(0o555)
    good = TestFileGenerator.generate_batch(root / "watch", "json", 3)
    bad = write_settled(root / "watch" / "broken.json", '{"pn": ')
    station.start()
    wait_until(lambda: server.store.count() == 3, 30, "reports delivered", station)
    wait_until(lambda: "cannot be moved to" in station.log(), 30, "quarantine refused", station)
    time.sleep(2.5)  # several rescans: the delivered files must not be converted or sent again
    assert set(server.counters()["posts"].values()) == {1}
    assert bad.exists() and all(p.exists() for p in good)  # nothing lost while folders are locked
    for locked in (root / "done", root / "error"):
        locked.chmod(0o777)
    wait_until(lambda: len(station.files("done")) == 3, 30, "moved once writable", station)
    wait_until((root / "error" / "broken.json.error").exists, 90, "quarantined", station)
    assert station.stop() == 0
    assert set(server.counters()["posts"].values()) == {1}


def test_an_unreadable_pending_report_waits_without_blocking_the_others(
    permissions_apply: tuple[Path, list[str]], server: ServerThread
) -> None:
    root, prefix = permissions_apply
    station = json_station(root, server, prefix=prefix)
    (root / "pending").mkdir()
    locked = minimal_report("LOCKED-1")
    locked_file = root / "pending" / f"{locked.id}.json.queued"
    locked_file.write_bytes(locked.to_wsjf())
    locked_file.chmod(0o000)  # nobody may read it, its owner (the service's user) included
    others = [minimal_report(f"FREE-{i}") for i in range(5)]
    for r in others:
        (root / "pending" / f"{r.id}.json.queued").write_bytes(r.to_wsjf())
    station.start()
    wait_until(lambda: server.store.count() == 5, 30, "readable reports sent", station)
    assert "cannot read pending report" in station.log() and locked_file.exists()
    locked_file.chmod(0o600)
    wait_until(lambda: server.store.count() == 6, 30, "locked report sent once readable", station)
    assert station.stop() == 0


def test_read_only_state_folder_refuses_to_start_with_a_clear_message(
    permissions_apply: tuple[Path, list[str]], server: ServerThread
) -> None:
    root, prefix = permissions_apply
    state = root / "state"
    state.mkdir()
    state.chmod(0o555)
    station = json_station(root, server, prefix=prefix, state_folder="state")
    station.start()
    assert station.proc is not None
    code = station.proc.wait(timeout=30)
    assert code == 2, station.log()[-3000:]
    station.proc = None
    log = station.log()
    assert "error:" in log and str(state) in log and "Traceback" not in log
