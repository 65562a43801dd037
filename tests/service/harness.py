"""An end-to-end rig: real folders, a real config file, the service as a real subprocess,
and the local server over loopback HTTP as its peer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.service import yaml_writer
from wats_converter.server.fixture import ServerThread

REPO = Path(__file__).resolve().parents[2]
LIVE: list[Station] = []  # every station of the running test; killed when the test ends
FAST_RETRY = {"initial_s": 0.05, "max_s": 0.5, "conversion_attempts": 3}


class Station:
    """A station's folders and a wats-converter service watching them."""

    def __init__(
        self,
        root: Path,
        server: ServerThread,
        converters: list[dict[str, Any]],
        *,
        prefix: list[str] | None = None,
        **settings: Any,
    ) -> None:
        self.root = root
        self.prefix = prefix or []  # e.g. setpriv, to run the service with fewer privileges
        self.server = server
        self.config_path = root / "converters.yaml"
        self.log_path = root / "service.log"
        config = {
            "server": {
                "url": server.url,
                "token": server.token,
                "timeout_s": 5,
                "connect_timeout_s": 2,
            },
            "station": {"name": "ST-TEST", "location": "Lab", "purpose": "Test"},
            "pending_folder": "pending",
            "archive_folder": "archive",
            "error_folder": "error",
            "max_workers": 2,
            "scan_interval_s": 1.0,
            "settle_s": 0.1,
            "retry": FAST_RETRY,
            "converters": converters,
            **settings,
        }
        self.config_path.write_text(yaml_writer.dump(config))
        self.proc: subprocess.Popen[bytes] | None = None
        LIVE.append(self)

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, *args: str, env: dict[str, str] | None = None) -> None:
        log = self.log_path.open("ab")
        command = [sys.executable, "-m", "wats_converter", "run", "--config", str(self.config_path)]
        self.proc = subprocess.Popen(
            [*self.prefix, *command, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO), **(env or {})},
        )

    def run_once(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "wats_converter",
                "run",
                "--once",
                "--config",
                str(self.config_path),
                *args,
            ],
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=timeout,
            check=False,
        )

    def stop(self, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def files(self, name: str, pattern: str = "*") -> list[Path]:
        folder = self.root / name
        return sorted(p for p in folder.rglob(pattern) if p.is_file()) if folder.exists() else []


def single_converter(
    root: Path,
    server: ServerThread,
    class_name: str = "CSVConverter",
    action: str = "MOVE",
    **settings: Any,
) -> Station:
    """A station with one converter on `watch/`, done/ and error/ folders (the common rig)."""
    name = class_name.removesuffix("Converter").lower()
    converter = {
        "name": name,
        "class_name": class_name,
        "watch_folder": "watch",
        "done_folder": "done",
        "error_folder": "error",
        "post_process_action": action,
    }
    return Station(root, server, [converter], **settings)


def write_settled(path: Path, content: str) -> Path:
    """Write `content` to `path` with a modification time a minute ago: a file the watcher
    takes as finished at once (no settle wait)."""
    path.write_text(content)
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def wait_until(
    predicate: Callable[[], bool],
    timeout: float = 60,
    what: str = "condition",
    station: Station | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if station is not None and station.proc is not None and station.proc.poll() is not None:
            raise AssertionError(
                f"service exited ({station.proc.returncode}) waiting for {what}:\n"
                f"{station.log()[-3000:]}"
            )
        time.sleep(0.05)
    tail = station.log()[-3000:] if station else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")


def kill_live_stations() -> None:
    """Kill the services a test started, even when the test failed half-way."""
    while LIVE:
        LIVE.pop().kill()
