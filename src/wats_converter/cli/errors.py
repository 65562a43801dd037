"""`errors list|show|requeue`: the files in the error folders."""

from __future__ import annotations

from pathlib import Path

import click

from wats_converter import admin
from wats_converter.cli.exits import EXIT_USAGE, fail
from wats_converter.cli.options import config_options, load_or_fail


@click.group()
def errors() -> None:
    """Files in the error folders: list, show, requeue."""


@errors.command("list")
@config_options
def errors_list(config_path: Path | None, data_dir: Path) -> None:
    """One line per failed file: when, file, converter, why."""
    failed = admin.failed_files(load_or_fail(config_path, data_dir))
    for f in failed:
        d = f.detail
        click.echo(
            f"{str(d.get('timestamp', ''))[:19]}  {f.name}  {d.get('converter', '')}  "
            f"{d.get('error_type', '')}: {str(d.get('exception', '')).splitlines()[0][:100]}"
        )
    click.echo(f"{len(failed)} files in the error folders", err=True)


@errors.command("show")
@click.argument("name")
@config_options
def errors_show(name: str, config_path: Path | None, data_dir: Path) -> None:
    """Everything the .error file says about NAME."""
    try:
        failed = admin.find_failed(load_or_fail(config_path, data_dir), name)
    except LookupError as exc:
        fail(str(exc))
    for key, value in failed.detail.items():
        if key != "traceback":
            click.echo(f"{key}: {value}")
    if failed.detail.get("traceback"):
        click.echo(f"traceback:\n{failed.detail['traceback']}")


@errors.command("requeue")
@click.argument("name", required=False)
@click.option("--all", "requeue_all", is_flag=True, help="Requeue every failed file.")
@config_options
def errors_requeue(
    name: str | None, requeue_all: bool, config_path: Path | None, data_dir: Path
) -> None:
    """Give NAME (or --all) another try: back to its watch folder, or to pending/ for a report
    the server rejected. Fix the cause first."""
    config = load_or_fail(config_path, data_dir)
    if not name and not requeue_all:
        fail("name a file (see `errors list`) or use --all", EXIT_USAGE)
    try:
        targets = (
            admin.failed_files(config) if requeue_all else [admin.find_failed(config, name or "")]
        )
    except LookupError as exc:
        fail(str(exc))
    for failed in targets:
        click.echo(f"{failed.name} -> {admin.requeue(config, failed)}")
