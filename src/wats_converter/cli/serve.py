"""`serve`: the local WATS-compatible server with its report browser."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import click
from pydantic import ValidationError

from wats_converter.cli.exits import EXIT_USAGE, fail
from wats_converter.server.app import LocalServer
from wats_converter.server.faults import FaultPlan, Faults
from wats_converter.server.store import ReportStore


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
@click.option("--token", help="Accept only 'Authorization: Basic TOKEN' (default: accept any).")
@click.option("--admin", is_flag=True, help="Serve /_admin/ (fault injection, counters) for tests.")
@click.option(
    "--faults",
    "faults_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON fault plan to apply to the next report posts (implies nothing else).",
)
@click.option("--max-body-mb", default=10.0, show_default=True, help="Largest request body.")
def serve(  # noqa: PLR0913 - click passes one parameter per command-line option
    host: str,
    port: int,
    db_path: Path,
    token: str | None,
    admin: bool,
    faults_path: Path | None,
    max_body_mb: float,
) -> None:
    """Run the local WATS-compatible server with its report browser at /."""
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
    asyncio.run(_serve(server, host, port))
    store.close()


async def _serve(server: LocalServer, host: str, port: int) -> None:
    """Serve on `host:port` until SIGINT or SIGTERM."""
    try:
        url = await server.start(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port", EXIT_USAGE)
    click.echo(f"Local WATS server listening on {url} (reports page: {url}/)", nl=True)
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
