"""`serve`: the local WATS-compatible server with its report browser."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import sys
from pathlib import Path

import click
from pydantic import ValidationError

from wats_converter.cli.exits import EXIT_USAGE, fail
from wats_converter.server.app import LocalServer
from wats_converter.server.faults import FaultPlan, Faults
from wats_converter.server.store import ReportStore
from wats_converter.server.workers import (
    can_share_socket,
    default_processes,
    inherited_socket,
    listening_socket,
    run_workers,
    watch_parent,
)

# The server decodes each report into hundreds of short-lived lists the collector tracks; with
# the default threshold (700) a young collection ran every few posts and the old ones walked the
# whole imported program: 5.7 % of the loop's samples in a native py-spy profile of 56 KB posts,
# none once the start-up objects are frozen and the young generation is larger (memory: a few
# reports' worth of garbage at most).
GC_THRESHOLD = (20_000, 20, 100)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("wats-server.sqlite"),
    show_default=True,
    help="SQLite file of reports.",
)
@click.option(
    "--token",
    envvar="WATS_SERVE_TOKEN",
    help="Accept only 'Authorization: Basic TOKEN' (default: accept any). WATS_SERVE_TOKEN keeps "
    "it off the command line, which other users can read.",
)
@click.option("--admin", is_flag=True, help="Serve /_admin/ (fault injection, counters) for tests.")
@click.option(
    "--faults",
    "faults_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON fault plan to apply to the next report posts (implies nothing else).",
)
@click.option("--max-body-mb", default=10.0, show_default=True, help="Largest request body.")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    envvar="WATS_SERVE_PROCESSES",
    help="Server processes sharing the port, one event loop each (default: one per core, at "
    "most 4; 1 with --admin or --faults, whose state is one process's).",
)
@click.option("--listen-fd", type=int, hidden=True, help="A worker: accept from this socket.")
def serve(  # noqa: PLR0913 - click passes one parameter per command-line option
    host: str,
    port: int,
    db_path: Path,
    token: str | None,
    admin: bool,
    faults_path: Path | None,
    max_body_mb: float,
    processes: int | None,
    listen_fd: int | None,
) -> None:
    """Run the local WATS-compatible server with its report browser at /."""
    stateful = admin or faults_path is not None
    count = processes or default_processes(stateful)
    if count > 1 and listen_fd is None:
        if stateful:
            fail(
                "--admin and --faults need --processes 1: their state is one process's", EXIT_USAGE
            )
        if not can_share_socket():
            fail("--processes above 1 needs a POSIX system (the socket is inherited)", EXIT_USAGE)
        _serve_workers(count, host, port, db_path, token, max_body_mb)
        return
    faults = Faults()
    if faults_path is not None:
        try:
            faults.load(FaultPlan.validate_json(faults_path.read_bytes()))
        except ValidationError as exc:
            fail(f"{faults_path}: bad fault plan: {exc}", EXIT_USAGE)
    store = ReportStore(db_path)
    server = LocalServer(
        store,
        token=token,
        admin=admin,
        faults=faults,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
    )
    shared = inherited_socket(listen_fd) if listen_fd is not None else None
    asyncio.run(_serve(server, host, port, shared))
    store.close()


def _serve_workers(
    count: int, host: str, port: int, db_path: Path, token: str | None, max_body_mb: float
) -> None:
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port", EXIT_USAGE)
    ReportStore(db_path).close()  # the schema, once, before the workers race to create it
    args = ["--db", str(db_path), "--max-body-mb", str(max_body_mb), "--processes", "1"]
    secrets = {"WATS_SERVE_TOKEN": token} if token is not None else None
    url = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}"
    code = run_workers(
        sock, args, count, ready=lambda: _announce(url, f", {count} processes"), secrets=secrets
    )
    sys.exit(code)


def _announce(url: str, extra: str = "") -> None:
    click.echo(f"Local WATS server listening on {url} (reports page: {url}/){extra}", nl=True)
    sys.stdout.flush()


async def _serve(
    server: LocalServer, host: str, port: int, shared: socket.socket | None = None
) -> None:
    """Serve on `host:port` (or the inherited socket) until SIGINT or SIGTERM."""
    try:
        url = await server.start(host, port, shared=shared)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port", EXIT_USAGE)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    _announce(url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if shared is not None:
        watch_parent(stop.set)
    await stop.wait()
    await server.stop()
