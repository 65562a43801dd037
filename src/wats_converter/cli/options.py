"""The options several commands share: `--config FILE` and `--data DIR`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from wats_converter.cli.exits import EXIT_USAGE, fail
from wats_converter.config import Config, embedded_config, load_config
from wats_converter.errors import ConfigError


def load_or_fail(config_path: Path | None, data_dir: Path) -> Config:
    """The config of `--config`, or zero-config mode in `--data`; exit 2 when it is invalid."""
    try:
        return load_config(config_path) if config_path else embedded_config(data_dir)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def config_options(f: Callable[..., None]) -> Callable[..., None]:
    """`--config FILE` and `--data DIR` (the folder of zero-config mode) for a command."""
    f = click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("wats-data"),
        show_default=True,
        help="Data folder of zero-config mode (used without --config).",
    )(f)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="YAML config (default: zero-config mode in --data with the local server).",
    )(f)
