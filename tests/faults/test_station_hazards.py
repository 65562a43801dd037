"""What a real station can throw at the service (issue 20): a file replaced in place while its
report is delivered, answers that are not from WATS, same-named files in many folders, names that
are not UTF-8, symlinks, half-written files. Each ends with nothing lost or misfiled."""

from __future__ import annotations

import http.server
import os
import threading
import zipfile
from pathlib import Path

import pytest

from tests.service.harness import Station, single_converter, wait_until
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator, write_atomically


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
