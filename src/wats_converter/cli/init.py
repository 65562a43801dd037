"""`init`: a commented starter config and its folders."""

from __future__ import annotations

import os
from pathlib import Path

import click

from wats_converter import admin
from wats_converter.cli.exits import EXIT_USAGE, fail
from wats_converter.cli.options import load_or_fail
from wats_converter.config import ensure_folders


@click.command()
@click.argument(
    "path", type=click.Path(dir_okay=False, path_type=Path), default=Path("converters.yaml")
)
def init(path: Path) -> None:
    """Write a commented starter config (default ./converters.yaml) and create its folders."""
    station = os.uname().nodename if hasattr(os, "uname") else "station"
    try:
        admin.write_starter_config(path, station)
    except FileExistsError as exc:
        fail(str(exc), EXIT_USAGE)
    config = load_or_fail(path, Path())
    ensure_folders(config)
    click.echo(
        f"wrote {path}; edit server.url and server.token, then run:\n"
        f"  wats-converter check-config --config {path}\n"
        f"  wats-converter run --config {path}"
    )
