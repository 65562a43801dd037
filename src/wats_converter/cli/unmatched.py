"""`unmatched`: the files in watch folders that no converter claims."""

from __future__ import annotations

from pathlib import Path

import click

from wats_converter.cli.exits import EXIT_USAGE, fail
from wats_converter.cli.options import config_options, load_or_fail
from wats_converter.converters.registry import build_slots, folder_patterns
from wats_converter.errors import ConfigError
from wats_converter.pipeline.scanner import ScanStats, Unmatched, output_folders, scan


@click.command()
@config_options
def unmatched(config_path: Path | None, data_dir: Path) -> None:
    """List the files in watch folders that no converter claims (they are never converted)."""
    config = load_or_fail(config_path, data_dir)
    try:
        slots = build_slots(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    strays: dict[str, Unmatched] = {}
    scan(slots, output_folders(config), ScanStats(), unmatched=strays)
    for stray in sorted(strays.values(), key=lambda u: str(u.path)):
        folder = stray.slot.entry.watch_folder
        click.echo(f"{stray.path}  ({folder} takes {folder_patterns(slots, folder)})")
    click.echo(f"{len(strays)} files no converter claims", err=True)
