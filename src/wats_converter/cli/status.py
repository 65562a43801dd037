"""`status`: what a running service is doing, from its status.json."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from wats_converter.cli.exits import EXIT_NOT_RUNNING
from wats_converter.cli.options import config_options, load_or_fail
from wats_converter.cluster.view import status_lines
from wats_converter.config import EMBEDDED, Config
from wats_converter.embedded import ADDRESS_FILE, load_address
from wats_converter.status import STATUS_FILE, Status, read_status
from wats_converter.storage.instance_lock import holder_running

STALE_STATUS_S = 5.0  # the service rewrites status.json every second


@click.command()
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print the raw status JSON.")
@click.option("--watch", is_flag=True, help="Refresh every second until Ctrl+C.")
def status(config_path: Path | None, data_dir: Path, as_json: bool, watch: bool) -> None:
    """Show what a running service is doing (queue, pending, errors, last submit).

    Exit code 0 while the service runs, 3 when it does not (like `systemctl status`).
    """
    config = load_or_fail(config_path, data_dir)
    if not watch:
        sys.exit(_show_status(config, as_json))
    try:
        while True:
            click.clear()
            _show_status(config, as_json)
            click.echo(f"(refreshing every second; Ctrl+C to leave) {time.strftime('%H:%M:%S')}")
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass


def _show_status(config: Config, as_json: bool) -> int:
    """Print the status; return 0 while a service holds the lock, 3 when none does."""
    path = config.state_dir / STATUS_FILE
    running = holder_running(config.state_dir)
    data = read_status(config.state_dir)
    if data is None:
        if as_json:
            click.echo(json.dumps({"running": running}))
        else:
            what = "running, but no status yet" if running else "NOT RUNNING"
            click.secho(f"service: {what} (no status in {path})", fg=None if running else "red")
        return 0 if running else EXIT_NOT_RUNNING
    if as_json:
        click.echo(json.dumps({**data.to_dict(), "running": running}, indent=2))
        return 0 if running else EXIT_NOT_RUNNING
    age = time.time() - data.updated_at
    if not running:
        state = click.style(
            f"NOT RUNNING (last seen {_age(age)} ago as pid {data.pid})", fg="red", bold=True
        )
    elif age < STALE_STATUS_S:
        state = click.style("running", fg="green") + f", pid {data.pid}"
    else:
        state = click.style(
            f"running (pid {data.pid}) but its status is {_age(age)} old: hung?",
            fg="yellow",
            bold=True,
        )
    click.echo(f"service: {state}, server {data.server_url}")
    embedded = load_address(config.state_dir) if config.server.url == EMBEDDED else None
    if embedded is not None:
        click.echo(
            f"reports page{'' if running else ' (while it runs)'}: {embedded.url}/ "
            f"(port and token kept in {config.state_dir / ADDRESS_FILE})"
        )
    _show_status_details(data)
    return 0 if running else EXIT_NOT_RUNNING


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _show_status_details(data: Status) -> None:
    # click drops the colours when the output is not a terminal (piped, redirected)
    if data.paused:
        click.secho(f"SUBMISSION PAUSED: {data.paused_reason}", fg="red", bold=True)
    if data.storage_blocked:
        click.secho(f"DISK PROBLEM: {data.storage_blocked}", fg="red", bold=True)
    click.echo(f"queued files: {data.queued} (+{data.in_work} converting)")
    for line in status_lines(data.cluster) if data.cluster is not None else ():
        click.echo(line)
    click.echo(f"pending reports: {data.pending} (oldest {data.pending_oldest_age_s:.0f} s)")
    click.echo(
        f"submitted: {data.submitted}, rejected: {data.rejected}, last result: "
        f"{data.last_submit_result or '-'}"
    )
    for name, c in data.converters.items():
        click.echo(
            f"  {name}: discovered {c.discovered}, converted {c.converted}, "
            f"failed {c.failed}, skipped {c.skipped}"
        )
    if data.unmatched:
        click.secho(
            f"unmatched files: {data.unmatched} (no converter claims them; "
            "`wats-converter unmatched` lists them)",
            fg="yellow",
        )
    if data.last_error:
        click.secho(f"last error: {data.last_error}", fg="yellow")
    if data.health_url:
        click.echo(f"metrics: {data.health_url}/metrics, readiness: {data.health_url}/ready")
