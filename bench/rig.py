"""The benchmark rig: the local server and the service as real processes, real files, psutil."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from ruamel.yaml import YAML

from wats_converter.server.fixture import ServerProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StandInProcess:
    """`python -m bench.standin` as a child process: a WATS server that only answers late."""

    def __init__(self, delay_ms: float, port: int = 0) -> None:
        self.token = "bench"  # what the service sends; the stand-in accepts any
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.standin",
                "--delay-ms",
                str(delay_ms),
                "--port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=Path(__file__).parent.parent,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if match is None:
            self.proc.kill()
            raise RuntimeError(f"stand-in did not start: {line}{self.proc.stdout.read()}")
        self.url = match.group(1)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Rig:
    """One station folder, one server process (the local server, or the stand-in answering
    after `standin_delay_ms`), one service process."""

    def __init__(
        self,
        converters: list[dict[str, Any]],
        *,
        server: bool = True,
        port: int | None = None,
        standin_delay_ms: float | None = None,
        **settings: Any,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wats-bench-"))
        self.port = port or free_port()
        self.standin_delay_ms = standin_delay_ms
        self.server: ServerProcess | StandInProcess | None = None
        if server:
            self.start_server()
        config = {
            "server": {"url": f"http://127.0.0.1:{self.port}", "token": "bench", "timeout_s": 30},
            "pending_folder": "pending",
            "error_folder": "error",
            "archive_folder": "archive",
            "scan_interval_s": 10.0,
            "retry": {"initial_s": 0.2, "max_s": 1.0},
            "converters": converters,
            **settings,
        }
        with (self.root / "config.yaml").open("w") as f:
            YAML(typ="safe", pure=True).dump(config, f)
        self.service: subprocess.Popen[bytes] | None = None
        self.log = self.root / "service.log"

    def start_server(self) -> None:
        if self.standin_delay_ms is not None:
            self.server = StandInProcess(self.standin_delay_ms, port=self.port)
        else:
            self.server = ServerProcess(self.root / "server.sqlite", token="bench", port=self.port)

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start_service(self, level: str = "WARNING") -> psutil.Process:
        with self.log.open("ab") as log:
            self.service = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wats_converter",
                    "run",
                    "--config",
                    str(self.root / "config.yaml"),
                    "--log-level",
                    level,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        return psutil.Process(self.service.pid)

    def wait_started(self, timeout: float = 60) -> None:
        wait((self.root / "status.json").exists, timeout)

    def stored(self) -> int:
        assert self.server is not None
        request = urllib.request.Request(
            self.server.url + "/_admin/counters?brief",
            headers={"Authorization": f"Basic {self.server.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            return int(json.load(r)["stored"])

    def close(self) -> None:
        if self.service is not None:
            self.service.terminate()
            try:
                self.service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.service.kill()
        if self.server is not None:
            self.server.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait(predicate: Callable[[], bool], timeout: float, poll_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish in time")
        time.sleep(poll_s)


def cpu_s(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def move_all(source: Path, target: Path) -> None:
    """Drop staged files atomically (rename), as a well-behaved station does."""
    for entry in os.scandir(source):
        os.rename(entry.path, target / entry.name)


def written_earlier(folder: Path, age_s: float = 60.0) -> None:
    """Date every file under `folder` `age_s` back: files a station wrote a while ago (a
    backlog, a burst of finished results), settled before they are dropped, so a throughput
    figure measures the pipeline, not the `settle_s` every freshly written file waits."""
    then = time.time() - age_s
    for root, _, names in os.walk(folder):
        for name in names:
            os.utime(os.path.join(root, name), (then, then))
