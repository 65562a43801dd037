"""Run the local server for tests and benchmarks: in a background thread, or as a subprocess.

with local_server() as server:
    ...  # server.url, server.token, server.store, server.faults, server.refuse(seconds)
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from wats_converter.server.app import LocalServer
from wats_converter.server.faults import Faults
from wats_converter.server.store import ReportStore

T = TypeVar("T")


class ServerThread:
    """A `LocalServer` on its own event loop in a daemon thread."""

    def __init__(
        self,
        db: Path | str = ":memory:",
        token: str | None = None,
        port: int = 0,
        *,
        open_access: bool = False,
    ) -> None:
        """`open_access`: no token at all (any client; a browser without credentials)."""
        self.token = "" if open_access else token or secrets.token_urlsafe(16)
        self.store = ReportStore(db)
        self.faults = Faults()
        self.server = LocalServer(
            self.store, token=self.token or None, admin=True, faults=self.faults
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="wats-local-server"
        )
        self._thread.start()
        self.url = self.call(self.server.start("127.0.0.1", port))

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def stop_listening(self) -> None:
        """Refuse connections until `resume_listening` (the server is 'down')."""
        self.call(self.server.stop_listening())

    def resume_listening(self) -> None:
        self.call(self.server.resume_listening())

    def counters(self) -> dict[str, Any]:
        return self.server.counters()

    def close(self) -> None:
        self.call(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self.store.close()


@contextmanager
def local_server(
    db: Path | str = ":memory:", token: str | None = None, *, open_access: bool = False
) -> Iterator[ServerThread]:
    """The local server on a free loopback port, in this process, for the `with` block."""
    server = ServerThread(db, token, open_access=open_access)
    try:
        yield server
    finally:
        server.close()


class ServerProcess:
    """`wats-converter serve` as a child process (for tests that kill or time things).

    One process serves `/_admin/*` too; `processes` > 1 starts that many workers on the port,
    without it (its fault plan and counters are one process's). The count goes in the
    environment, which a server older than `--processes` ignores (it then runs one process):
    `bench.ab` starts the server of an older checkout the same way.
    """

    def __init__(
        self, db: Path, token: str = "test-token", port: int = 0, *, processes: int = 1
    ) -> None:
        self.token = token
        self.db = db
        command = [sys.executable, "-m", "wats_converter", "serve", "--port", str(port)]
        command += ["--db", str(db), "--token", token]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "WATS_SERVE_PROCESSES": str(processes)}
        self.proc = subprocess.Popen(
            command + (["--admin"] if processes == 1 else []),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if match is None:
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line}{self.proc.stdout.read()}")
        self.url = match.group(1)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
