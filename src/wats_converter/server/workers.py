"""Several local-server processes on one listening socket: one event loop per core.

One asyncio loop runs on one core, and a report POST costs that loop about a millisecond of
decoding and checking (docs/performance.md), so one process cannot take 1,000 posts/s however
many cores the machine has. `serve --processes N` binds the socket once and starts N worker
processes (`serve` again, handed the socket's descriptor) that accept from it in turn: every
worker has its own loop and its own group-commit writer, all on the same SQLite WAL database,
where each commit waits its turn for the write lock (`busy_timeout`) and an id posted to two
workers is still one row (the upsert). The token, the pages and the API are the same in every
worker, because everything they show is read from the database.

One shared socket, not one `SO_REUSEPORT` socket per worker: the kernel spreads
`SO_REUSEPORT` connections by a hash of their addresses, so the 4 keep-alive connections of
one client land all on one worker one time in eight, and 3 to 1 half the time; from one socket
each worker accepts a single connection whenever it is free to, so the connections spread
evenly (docs/local-server.md, "One process per core"). It needs descriptor inheritance, hence
POSIX; elsewhere, and whenever a fault plan or `/_admin/*` is wanted (their plan and counters
live in one process's memory), the server runs one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence

LISTEN_BACKLOG = 512  # a burst of connections from many stations waits here, not in SYN retries
MAX_DEFAULT_PROCESSES = 4  # past this the one SQLite writer lock, not the loops, is the limit


def can_share_socket() -> bool:
    """Whether worker processes can inherit the listening socket here."""
    return os.name == "posix"


def default_processes(admin: bool) -> int:
    """One per core (at most 4); one when the admin API or a fault plan needs one process's
    memory, or where a socket cannot be shared."""
    if admin or not can_share_socket():
        return 1
    return max(1, min(MAX_DEFAULT_PROCESSES, os.cpu_count() or 1))


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket all workers accept from (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock


def inherited_socket(fd: int) -> socket.socket:
    """The listening socket a worker was handed by `run_workers`."""
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    return sock


def run_workers(
    sock: socket.socket,
    worker_args: Sequence[str],
    count: int,
    ready: Callable[[], None],
    secrets: Mapping[str, str] | None = None,
) -> int:
    """Start `count` workers (`python -m wats_converter serve <worker_args> --listen-fd FD`,
    with `secrets` added to their environment: other users can read argv, not that),
    call `ready` once each listens, then wait for SIGINT/SIGTERM or a worker's end, and stop
    them all. Returns the exit code: 0 after a signal, 1 when a worker ended by itself (a
    supervisor such as systemd then restarts the whole server)."""
    fd = sock.fileno()
    command = [sys.executable, "-m", "wats_converter", "serve", *worker_args, "--listen-fd"]
    workers: list[subprocess.Popen[str]] = []
    try:
        for _ in range(count):
            worker = subprocess.Popen(
                [*command, str(fd)],
                pass_fds=(fd,),
                env={**os.environ, **secrets} if secrets else None,
                stdin=subprocess.PIPE,  # never written: its end tells the worker we are gone
                stdout=subprocess.PIPE,
                text=True,
            )
            workers.append(worker)
            assert worker.stdout is not None
            if not worker.stdout.readline():  # it says where it listens once it does
                return worker.wait() or 1
        sock.close()  # the workers hold it now
        ready()
        return _wait(workers)
    finally:
        _stop(workers)


def watch_parent(stop: Callable[[], None]) -> None:
    """In a worker: call `stop` when the parent's end of stdin closes (it ended, even by
    SIGKILL), so no worker outlives the server it belongs to."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()

    def readable() -> None:
        if not os.read(fd, 4096):
            loop.remove_reader(fd)
            stop()

    loop.add_reader(fd, readable)


def _wait(workers: list[subprocess.Popen[str]]) -> int:
    ended = threading.Event()
    signalled = []

    def on_signal(signum: int, _frame: object) -> None:
        signalled.append(signum)
        ended.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    def watch(worker: subprocess.Popen[str]) -> None:
        worker.wait()
        ended.set()

    for worker in workers:  # the first worker to end, for whatever reason, ends the server
        threading.Thread(target=watch, args=(worker,), daemon=True).start()
    ended.wait()
    return 0 if signalled else 1


def _stop(workers: list[subprocess.Popen[str]]) -> None:
    """SIGTERM: each worker finishes and answers the requests it has (every 200 committed)."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        if worker.stdout is not None:
            with contextlib.suppress(OSError):
                worker.stdout.close()
