"""What a real station can throw at the service (issue 20): a file replaced in place while its
report is delivered, answers that are not from WATS, same-named files in many folders, names that
are not UTF-8, symlinks, half-written files. Each ends with nothing lost or misfiled."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from tests.faults.scenario import tiny_tmpfs
from tests.service.harness import Station, single_converter, wait_until
from wats_converter.config import ensure_folders, load_config
from wats_converter.pipeline.delivery import Delivery, PendingReport
from wats_converter.pipeline.work_queue import WorkQueue
from wats_converter.server.fixture import ServerThread
from wats_converter.server.store import HeaderQuery
from wats_converter.service import Service
from wats_converter.storage.journal import Journal
from wats_converter.testing import TestFileGenerator, write_atomically
from wats_converter.wats_client import WatsClient


def csv(sn: str, **kw: object) -> bytes:
    return TestFileGenerator.csv_text(sn, **kw).encode()  # type: ignore[arg-type]


def in_flight(server: ServerThread, station: Station) -> None:
    """Until the server has taken the one armed fault rule: the POST is in flight."""
    wait_until(lambda: server.faults.pending() == [], 30, "the POST in flight", station)


@pytest.mark.parametrize("action", ["MOVE", "ZIP", "DELETE"])
def test_a_file_replaced_in_place_while_delivered_is_converted_not_post_processed(
    tmp_path: Path, server: ServerThread, action: str
) -> None:
    """Item 1: test A is `result.csv`; while A's POST is in flight B is renamed onto the same name
    with the same size and mtime. A is stored, then B is converted too; B is never deleted,
    moved or archived unconverted."""
    station = single_converter(tmp_path, server, action=action)
    watch = station.folder("watch")
    first, second = csv("REPLACED-A"), csv("REPLACED-B")
    assert len(first) == len(second)
    server.faults.add(mode="delay", ms=1500)
    station.start()
    write_atomically(watch / "result.csv", first)
    in_flight(server, station)
    mtime = (watch / "result.csv").stat().st_mtime_ns
    tmp = watch / ".result.csv.part"
    tmp.write_bytes(second)
    os.utime(tmp, ns=(mtime, mtime))  # same size, same mtime: only the inode differs
    os.replace(tmp, watch / "result.csv")
    wait_until(lambda: len(server.store.serial_counts()) == 2, 30, "both stored", station)
    wait_until(lambda: not (watch / "result.csv").exists(), 30, "B post-processed", station)
    assert station.stop() == 0
    assert server.store.serial_counts() == {"REPLACED-A": 1, "REPLACED-B": 1}
    if action == "MOVE":
        assert [p.read_bytes() for p in station.files("done")] == [second]
    if action == "ZIP":
        contents = []
        for archive in station.files("archive"):
            with zipfile.ZipFile(archive) as z:
                contents += [z.read(n) for n in z.namelist()]
        assert contents == [second]
    assert station.files("error") == []


class HtmlServer:
    """A web server that answers every request `200 text/html`: a maintenance page, a captive
    portal, a proxy's error page or a web app at a wrong `server.url`."""

    def __init__(self) -> None:
        class Page(http.server.BaseHTTPRequestHandler):
            def _page(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = b"<html><body><h1>Down for maintenance</h1></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _page

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.token = "whatever"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_200_that_is_not_a_wats_answer_is_not_a_delivery(
    tmp_path: Path, server: ServerThread
) -> None:
    """Item 2: `server.url` points at something that answers 200 text/html. Nothing counts as
    submitted: the reports wait in pending/, submission is paused with a message saying what
    answered, and they are delivered once a WATS server answers."""
    page = HtmlServer()
    try:
        station = single_converter(tmp_path, page, action="DELETE")  # type: ignore[arg-type]
        watch = station.folder("watch")
        for i in range(5):
            write_atomically(watch / f"r{i}.csv", csv(f"HTML-{i}"))
        station.start()
        wait_until(
            lambda: len(station.files("pending", "*.queued")) == 5, 30, "all pending", station
        )
        wait_until(lambda: "SUBMISSION PAUSED" in station.log(), 10, "a pause", station)
        assert station.stop() == 0
    finally:
        page.close()
    log = station.log()
    assert "text/html" in log and "not WATS" in log and "submitted" not in log
    station = single_converter(tmp_path, server, action="DELETE")
    station.start()
    wait_until(lambda: server.store.count() == 5, 30, "delivered from pending/", station)
    wait_until(lambda: station.files("pending", "*.queued") == [], 10, "pending empty", station)
    assert station.stop() == 0
    assert server.store.serial_counts() == {f"HTML-{i}": 1 for i in range(5)}


def many_stations(root: Path, server: ServerThread, action: str, done: Path) -> Station:
    converter = {
        "name": "csv",
        "class_name": "CSVConverter",
        "watch_folder": "watch",
        "recursive": True,
        "done_folder": str(done),
        "error_folder": "error",
        "post_process_action": action,
    }
    return Station(root, server, [converter], max_workers=4)


def other_file_system(tmp_path: Path) -> Path:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip(
            "a MOVE across file systems needs a second one: /dev/shm is missing or on the "
            "same file system as the test folder"
        )
    return Path(tempfile.mkdtemp(dir=shm, prefix="wats-done-"))


@pytest.mark.parametrize("count", [pytest.param(60), pytest.param(300, marks=pytest.mark.slow)])
@pytest.mark.parametrize("action", ["ZIP", "MOVE-across-file-systems", "ERROR"])
def test_same_named_files_in_many_folders_each_keep_their_own_copy(
    tmp_path: Path, server: ServerThread, action: str, count: int
) -> None:
    """Item 3: `st0000/result.csv` ... `st0299/result.csv`, converted four at a time. Every
    source ends intact in exactly one archive (or done/ file on another file system, or error/
    pair whose `.error` describes that very file); nothing is lost or stored twice."""
    done = other_file_system(tmp_path) if action.startswith("MOVE") else tmp_path / "done"
    try:
        station = many_stations(
            tmp_path, server, action.split("-")[0].replace("ERROR", "MOVE"), done
        )
        watch = station.folder("watch")
        contents: dict[bytes, str] = {}
        for i in range(count):
            folder = watch / f"st{i:04d}"
            folder.mkdir()
            if action == "ERROR":
                content = f"pn,P\x00\x00\nsn,BROKEN-{i}\n".encode()  # NUL bytes: refused
                path = folder / "result.csv"
                path.write_bytes(content)
                past = time.time() - 60
                os.utime(path, (past, past))
            else:
                content = csv(f"SAME-{i:04d}")
                write_atomically(folder / "result.csv", content)
            contents[content] = str(folder)
        station.start()
        if action == "ERROR":
            wait_until(
                lambda: len(station.files("error", "*.error")) == count,
                120,
                "all in error/",
                station,
            )
        else:
            wait_until(lambda: server.store.count() == count, 120, "all stored", station)
            wait_until(lambda: station.files("watch") == [], 60, "all post-processed", station)
        assert station.stop() == 0
        found: list[bytes] = []
        if action == "ZIP":
            for archive in station.files("archive"):
                with zipfile.ZipFile(archive) as z:
                    assert z.testzip() is None, archive
                    found += [z.read(n) for n in z.namelist()]
        elif action == "ERROR":
            for error in station.files("error", "*.error"):
                source = error.with_name(error.name.removesuffix(".error"))
                reason = json.loads(error.read_text())
                assert reason["source_folder"] == contents[source.read_bytes()], error
                found.append(source.read_bytes())
        else:
            found = [p.read_bytes() for p in done.iterdir()]
            assert not [p for p in done.iterdir() if p.name.endswith(".tmp")]
        assert sorted(found) == sorted(contents), "a source without its own intact copy"
        if action != "ERROR":
            assert set(server.store.serial_counts().values()) == {1}
        assert list(tmp_path.rglob("*.tmp")) == []
    finally:
        if action.startswith("MOVE"):
            shutil.rmtree(done, ignore_errors=True)


def test_names_that_are_not_utf8_or_hold_newlines_are_handled_and_logged_safely(
    tmp_path: Path, server: ServerThread
) -> None:
    """Item 4 (and the log part of 12): a cp1252 name from an SMB/USB/FAT mount is converted,
    moved under its exact bytes, quarantined with its `.error`; the journal stays usable after a
    restart; a newline in a name cannot forge a log line."""
    station = single_converter(tmp_path, server)
    watch = station.folder("watch")
    raw = os.fsencode(watch)
    (watch / os.fsdecode(b"r\xe9sultat.csv")).write_bytes(csv("CP1252-1"))
    broken = watch / os.fsdecode(b"d\xe9fekt.csv")
    broken.write_bytes(b"pn,P\x00\x00\nsn,S\n")
    past = time.time() - 60
    os.utime(broken, (past, past))
    forged = "evil\n00:00:00 ERROR   forged line.csv"
    (watch / forged).write_bytes(csv("NEWLINE-1"))
    write_atomically(watch / "plain.csv", csv("PLAIN-1"))
    station.start()
    wait_until(lambda: server.store.count() == 3, 30, "three stored", station)
    wait_until(lambda: len(station.files("error")) == 2, 30, "the broken one in error/", station)
    wait_until(lambda: os.listdir(raw) == [], 30, "all post-processed", station)
    assert station.stop() == 0
    done = sorted(os.listdir(os.fsencode(tmp_path / "done")))
    assert done == sorted([b"r\xe9sultat.csv", os.fsencode(forged), b"plain.csv"])
    assert sorted(os.listdir(os.fsencode(tmp_path / "error"))) == [
        b"d\xe9fekt.csv",
        b"d\xe9fekt.csv.error",
    ]
    log = station.log()
    assert "Traceback" not in log and "within a transaction" not in log
    assert not any(line.startswith("00:00:00 ERROR") for line in log.splitlines())
    assert "evil\\n00:00:00" in log and "r\\xe9sultat.csv" in log
    # after a restart the journal takes new files as before
    station.start()
    (watch / os.fsdecode(b"zw\xf6lf.csv")).write_bytes(csv("CP1252-2"))
    wait_until(lambda: server.store.count() == 4, 30, "the next one stored", station)
    assert station.stop() == 0
    assert set(server.store.serial_counts().values()) == {1}


async def test_the_status_snapshot_is_taken_on_the_event_loop(
    tmp_path: Path, server: ServerThread
) -> None:
    """Item 5: the status writer read the pending queue's dicts in a thread while the loop
    changed them ("dictionary changed size during iteration" with 20,000 pending reports, and
    the service exited). Every read of the queues must happen on the loop's thread."""
    station = single_converter(tmp_path, server)
    station.folder("watch")
    config = load_config(station.config_path)
    ensure_folders(config)
    service = Service(config)
    pending = Delivery(
        config.pending_folder,
        WatsClient(server.url, server.token),
        retry=config.retry,
        error_folder=config.error_folder,
        stats=service.stats,
    )
    readers: set[str] = set()
    for name in ("oldest_age_s", "__len__"):
        original = getattr(Delivery, name)

        def spy(self: Delivery, *a: object, _original: object = original) -> object:
            readers.add(threading.current_thread().name)
            return _original(self, *a)  # type: ignore[operator]

        setattr(pending, name, spy.__get__(pending))
    journal = Journal(tmp_path / "journal.sqlite")
    task = asyncio.create_task(service._heartbeat(WorkQueue(), pending, journal).run())
    for i in range(20_000):  # the loop changes the queue while the status is written
        pending._items[f"r{i}"] = PendingReport(f"r{i}", tmp_path / f"r{i}", tmp_path)
        if i % 500 == 0:
            await asyncio.sleep(0.01)
    await asyncio.sleep(1.2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    journal.close()
    await pending.client.aclose()
    assert readers == {threading.main_thread().name}
    assert json.loads((config.state_dir / "status.json").read_text())["pending"] == 20_000


def test_symlinks_are_never_followed_and_cross_fs_moves_keep_the_mode(
    tmp_path: Path, server: ServerThread
) -> None:
    """Item 9: a symlink in the watch folder to a 0600 report outside it (or to /etc/shadow) is
    neither submitted nor copied anywhere; a 0600 result moved to a done/ on another file
    system stays 0600."""
    done = other_file_system(tmp_path)
    try:
        station = many_stations(tmp_path, server, "MOVE", done)
        watch = station.folder("watch")
        secret = tmp_path / "outside" / "secret.csv"
        secret.parent.mkdir()
        secret.write_bytes(csv("SECRET-1"))
        secret.chmod(0o600)
        (watch / "secret.csv").symlink_to(secret)
        (watch / "shadow.csv").symlink_to("/etc/shadow")
        private = watch / "private.csv"
        private.write_bytes(csv("PRIVATE-1"))
        private.chmod(0o600)
        station.start()
        wait_until(lambda: server.store.count() == 1, 30, "the regular file stored", station)
        wait_until(lambda: not private.exists(), 30, "moved", station)
        time.sleep(2.5)  # a few scans and the watcher's events for the links
        assert station.stop() == 0
        assert server.store.serial_counts() == {"PRIVATE-1": 1}
        assert [p.name for p in done.iterdir()] == ["private.csv"]
        assert stat.S_IMODE((done / "private.csv").stat().st_mode) == 0o600
        assert station.files("error") == [] and secret.read_bytes() == csv("SECRET-1")
        assert (watch / "secret.csv").is_symlink() and (watch / "shadow.csv").is_symlink()
    finally:
        shutil.rmtree(done, ignore_errors=True)


def test_a_file_still_open_for_writing_is_not_read_early(
    tmp_path: Path, server: ServerThread
) -> None:
    """Item 6: a CSV writer pauses 0.5 s (five times `settle_s`) before its last, failing row.
    The file is open for writing all along, so it is not converted until it is closed: the
    server stores "Failed" with all 21 measurements, never "Passed" with a part of them."""
    station = single_converter(tmp_path, server)
    watch = station.folder("watch")
    station.start()
    wait_until((tmp_path / "status.json").exists, 30, "started", station)
    lines = TestFileGenerator.csv_text("HALF-1", rows=21, fail=True).splitlines(keepends=True)
    with (watch / "half.csv").open("w") as f:
        for line in lines[:-1]:
            f.write(line)
            f.flush()
        time.sleep(1.5)
        f.write(lines[-1])
    wait_until(lambda: server.store.count() == 1, 30, "stored", station)
    wait_until(lambda: station.files("done") != [], 30, "moved", station)
    assert station.stop() == 0
    (header,) = server.store.headers(HeaderQuery((("serialNumber", "HALF-1"),)))
    assert header["result"] == "Failed"
    doc = server.store.get(header["uuid"])
    assert doc is not None
    assert sum(len(s.get("numericMeas") or []) for s in doc["root"]["steps"]) == 21
    assert [p.read_text() for p in station.files("done")] == ["".join(lines)]


@pytest.mark.parametrize("action", ["ZIP", "MOVE"])
def test_names_at_the_file_system_limit_are_archived_moved_and_quarantined(
    tmp_path: Path, server: ServerThread, action: str
) -> None:
    """Item 14 (names at the limits): 255-byte names, two of them the same in two folders and
    one broken: `.zip`, the `_1` suffix and the `.error` sidecar still fit; nothing is stuck."""
    station = many_stations(tmp_path, server, action, tmp_path / "done")
    watch = station.folder("watch")
    long_name = "é" * 100 + "x" * 51 + ".csv"  # 255 bytes in UTF-8
    assert len(os.fsencode(long_name)) == 255
    for i in range(2):
        (watch / f"line{i}").mkdir()
        (watch / ".part").write_bytes(csv(f"LONG-{i}"))
        os.replace(watch / ".part", watch / f"line{i}" / long_name)
    broken = watch / "line0" / ("b" * 251 + ".csv")
    broken.write_bytes(b"pn,P\x00\x00\nsn,S\n")
    past = time.time() - 60
    os.utime(broken, (past, past))
    station.start()
    wait_until(lambda: server.store.count() == 2, 30, "both stored", station)
    wait_until(lambda: station.files("watch") == [], 30, "nothing left in watch/", station)
    assert station.stop() == 0
    assert server.store.serial_counts() == {"LONG-0": 1, "LONG-1": 1}
    (error,) = station.files("error", "*.error")
    assert json.loads(error.read_text())["file"] == broken.name
    kept = station.files("archive" if action == "ZIP" else "done")
    assert len(kept) == 2 and all(len(os.fsencode(p.name)) <= 255 for p in kept)
    if action == "ZIP":
        for archive in kept:
            with zipfile.ZipFile(archive) as z:
                assert z.namelist() == [long_name]


def test_worker_processes_die_with_a_killed_service(tmp_path: Path, server: ServerThread) -> None:
    """Item 13: with `worker_mode: process`, killing only the service's pid (SIGKILL, as an OOM
    killer or a task manager does) leaves no orphaned worker processes behind."""
    psutil = pytest.importorskip("psutil")
    station = single_converter(tmp_path, server, worker_mode="process", max_workers=2)
    watch = station.folder("watch")
    for i in range(4):
        write_atomically(watch / f"r{i}.csv", csv(f"PROC-{i}"))
    station.start()
    wait_until(lambda: server.store.count() == 4, 60, "converted in worker processes", station)
    assert station.proc is not None
    workers = psutil.Process(station.proc.pid).children(recursive=True)
    assert workers, "no worker processes to orphan"
    station.kill()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == [], f"orphaned workers: {[p.pid for p in alive]}"


def test_a_second_service_on_the_same_watch_folder_is_warned_about(
    tmp_path: Path, server: ServerThread
) -> None:
    """Item 13: two services with their own data folders watching one folder would archive some
    sources twice; the second one says so at start."""
    shared = tmp_path / "shared-watch"
    shared.mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = single_converter(tmp_path / "a", server)
    second = single_converter(tmp_path / "b", server)
    for station in (first, second):
        station.config_path.write_text(
            station.config_path.read_text().replace(
                "watch_folder: watch", f"watch_folder: {shared}"
            )
        )
    first.start()
    wait_until((first.root / "status.json").exists, 30, "the first started", first)
    second.start()
    wait_until(lambda: "already watches" in second.log(), 30, "the warning", second)
    assert str(shared) in second.log() and "already watches" not in first.log()
    assert first.stop() == 0 and second.stop() == 0


def test_a_full_done_folder_keeps_no_partial_copies(tmp_path: Path, server: ServerThread) -> None:
    """Item 13: a MOVE to a done/ on another, full file system (a 256 KiB tmpfs) fails with
    ENOSPC; the partial copy is removed (it would hold the very space that is missing), the
    source waits in place and is moved once there is room."""
    with tiny_tmpfs(tmp_path / "done") as done:
        station = single_converter(tmp_path, server)
        big = station.folder("watch") / "big.csv"
        write_atomically(big, csv("BIG-1", rows=12_000))  # ~400 KB: more than done/ holds
        station.start()
        wait_until(lambda: server.store.count() == 1, 30, "stored", station)
        wait_until(lambda: "No space left" in station.log(), 30, "ENOSPC", station)
        time.sleep(1.0)
        assert big.exists() and list(done.iterdir()) == []
        subprocess.run(["mount", "-o", "remount,size=2m", str(done)], check=True)
        wait_until(lambda: not big.exists(), 30, "moved once there is room", station)
        assert station.stop() == 0
        assert [p.name for p in done.iterdir()] == ["big.csv"]
        assert server.store.serial_counts() == {"BIG-1": 1}


def test_folders_spelled_differently_are_the_same_folder(
    tmp_path: Path, server: ServerThread
) -> None:
    """Item 14 (paths spelled differently): the done folder inside a recursive watch folder,
    configured through a symlink and a `..`, is still recognised as the service's own output:
    a moved file is not found there and converted again (and again)."""
    watch = tmp_path / "watch"
    (watch / "done").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(watch)
    station = many_stations(tmp_path, server, "MOVE", tmp_path / "alias" / "done")
    station.config_path.write_text(
        station.config_path.read_text().replace(
            "watch_folder: watch", f"watch_folder: {tmp_path}/x/../watch"
        )
    )
    (tmp_path / "x").mkdir()
    write_atomically(watch / "r.csv", csv("ALIAS-1"))
    station.start()
    wait_until(lambda: server.store.count() == 1, 30, "stored", station)
    wait_until(lambda: not (watch / "r.csv").exists(), 30, "moved", station)
    time.sleep(3)  # three scans: the moved file must stay where it is
    assert station.stop() == 0
    assert [p.name for p in (watch / "done").iterdir()] == ["r.csv"]
    assert server.counters()["posts"] == {next(iter(server.counters()["posts"])): 1}


def test_timestamps_in_the_future_neither_stall_nor_spare_a_file(
    tmp_path: Path, server: ServerThread
) -> None:
    """Item 14 (timestamps that cannot be trusted): a share's clock a day ahead. A good file
    with that mtime is delivered after `settle_s` of not changing (not a day later); a broken
    one is quarantined (not retried forever as "only seconds old")."""
    station = single_converter(tmp_path, server)
    watch = station.folder("watch")
    ahead = time.time() + 86_400
    good = watch / "ahead.csv"
    good.write_bytes(csv("AHEAD-1"))
    broken = watch / "broken.csv"
    broken.write_bytes(b"pn,P\x00\x00\nsn,S\n")
    for path in (good, broken):
        os.utime(path, (ahead, ahead))
    station.start()
    wait_until(lambda: server.store.count() == 1, 20, "the good one delivered", station)
    wait_until(lambda: len(station.files("error")) == 2, 20, "the broken one quarantined", station)
    assert station.stop() == 0
    assert [p.name for p in station.files("done")] == ["ahead.csv"]
