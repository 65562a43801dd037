"""`pending list|retry`: the reports waiting for the server."""

from __future__ import annotations

import time
from pathlib import Path

import click

from wats_converter import admin
from wats_converter.cli.exits import EXIT_NOT_RUNNING, fail
from wats_converter.cli.options import config_options, load_or_fail
from wats_converter.status import request_retry
from wats_converter.storage.instance_lock import holder_running

RETRY_TAKEN_S = 5.0  # and looks for a retry request as often


@click.group()
def pending() -> None:
    """Reports waiting for the server: list, retry."""


@pending.command("list")
@config_options
def pending_list(config_path: Path | None, data_dir: Path) -> None:
    """One line per pending report, oldest first."""
    reports = admin.pending_reports(load_or_fail(config_path, data_dir))
    for path, age, header in reports:
        click.echo(
            f"{path.name.split('.')[0]}  {age:8.0f} s  sn={header.get('sn')}  "
            f"pn={header.get('pn')}  result={header.get('result')}"
        )
    click.echo(f"{len(reports)} reports pending", err=True)


@pending.command("retry")
@click.argument("report_id", required=False)
@config_options
def pending_retry(report_id: str | None, config_path: Path | None, data_dir: Path) -> None:
    """Ask the running service to send REPORT_ID (or every pending report) now.

    Exit code 3 when no service runs (it sends them when it starts), 1 for an unknown id.
    """
    config = load_or_fail(config_path, data_dir)
    if not holder_running(config.state_dir):
        fail(
            f"no service is running on {config.state_dir}; pending reports are sent when it "
            "starts (`wats-converter run`)",
            EXIT_NOT_RUNNING,
        )
    if report_id is not None and not admin.is_pending(config, report_id):
        fail(f"no pending report {report_id!r}; `pending list` shows them")
    path = request_retry(config.state_dir, report_id)
    deadline = time.monotonic() + RETRY_TAKEN_S
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if path.exists():
        fail(f"the service did not take the request within {RETRY_TAKEN_S:.0f} s ({path})")
    click.echo(f"the service is retrying {report_id or 'every pending report'} now")
