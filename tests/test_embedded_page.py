"""The embedded server keeps its port and token across restarts and reloads, so the reports
page stays where `make run` showed it and another instance can deliver to it."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import cli
from tests.service.harness import REPO, wait_until
from tests.service.yaml_writer import dump
from wats_converter.testing import TestFileGenerator


@contextmanager
def running(*args: str, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (cwd / "service.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wats_converter", "run", *args],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        log.close()


def server_url(status: Path, since: float) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            data = json.loads(status.read_text())
            if data["updated_at"] >= since and data["server_url"].startswith("http"):
                return str(data["server_url"])
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"no fresh {status}")


@contextmanager
def port_8080_taken() -> Iterator[None]:
    """Hold 8080 when it is free; when it is not, something else already holds it."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 8080))
        sock.listen()
    except OSError:
        pass
    try:
        yield
    finally:
        sock.close()


def test_the_port_and_token_survive_a_restart_when_8080_is_taken(tmp_path: Path) -> None:
    data = tmp_path / "wats-data"
    with port_8080_taken():
        start = time.time()
        with running("--data", str(data), cwd=tmp_path):
            first = server_url(data / "status.json", start)
        saved = json.loads((data / "embedded-server.json").read_text())
        assert first == f"http://127.0.0.1:{saved['port']}" and saved["port"] != 8080
        assert (data / "embedded-server.json").stat().st_mode & 0o077 == 0  # it holds the token
        start = time.time()
        with running("--data", str(data), cwd=tmp_path):
            assert server_url(data / "status.json", start) == first
            shown = cli("status", "--data", str(data), cwd=str(tmp_path))
            assert f"reports page: {first}/" in shown.stdout
    assert json.loads((data / "embedded-server.json").read_text())["token"] == saved["token"]


def test_a_reload_keeps_the_page_and_a_second_instance_delivers_to_it(tmp_path: Path) -> None:
    config = tmp_path / "converters.yaml"
    config.write_text(
        dump(
            {
                "server": {"url": "embedded"},
                "pending_folder": "data/pending",
                "converters": [
                    {
                        "name": "csv",
                        "class_name": "CSVConverter",
                        "watch_folder": "data/watch",
                        "post_process_action": "DELETE",
                    }
                ],
            }
        )
    )
    start = time.time()
    with running("--config", str(config), cwd=tmp_path) as proc:
        url = server_url(tmp_path / "data" / "status.json", start)
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration reloaded" in (tmp_path / "service.log").read_text(), 30)
        assert server_url(tmp_path / "data" / "status.json", time.time()) == url
        # another station on this PC sends to the page `make run` shows, with the kept token
        saved = json.loads((tmp_path / "data" / "embedded-server.json").read_text())
        other = tmp_path / "other"
        (other / "watch").mkdir(parents=True)
        (other / "converters.yaml").write_text(
            dump(
                {
                    "server": {"url": saved["url"], "token": saved["token"]},
                    "pending_folder": "pending",
                    "converters": [
                        {
                            "name": "csv",
                            "class_name": "CSVConverter",
                            "watch_folder": "watch",
                            "post_process_action": "DELETE",
                        }
                    ],
                }
            )
        )
        TestFileGenerator.generate_batch(other / "watch", "csv", 2, prefix="other")
        once = cli("run", "--once", "--config", str(other / "converters.yaml"))
        assert once.returncode == 0, once.stderr[-2000:]
    with sqlite3.connect(tmp_path / "data" / "server.sqlite") as db:
        serials = sorted(r[0] for r in db.execute("SELECT sn FROM reports"))
    assert serials == ["OTHER-000000", "OTHER-000001"]
