"""The `wats-converter` command. Exit codes: 0 ok, 1 work failed, 2 bad usage or config."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from wats_converter import __version__
from wats_converter.config import (
    Config,
    ConverterEntry,
    embedded_config,
    ensure_folders,
    load_config,
)
from wats_converter.converters.api import (
    ConversionContext,
    ConverterBase,
    RetryLater,
    SkipFile,
    StationDefaults,
)
from wats_converter.converters.builtin import BUILTIN_CONVERTERS
from wats_converter.converters.loading import create_converter, load_converter_class
from wats_converter.errors import ConfigError, WatsConverterError
from wats_converter.pipeline.conversion import convert_path

EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wats-converter")
def main() -> None:
    """Watch folders of test results, convert them to WATS reports and deliver them."""


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--converter", "converter_name", help="Converter to use (config entry name or class name)."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use the converters (and settings) of this config file.",
)
@click.option("--pretty", is_flag=True, help="Indent the JSON.")
def convert(file: Path, converter_name: str | None, config_path: Path | None, pretty: bool) -> None:
    """Convert FILE and print its WSJF report(s) on stdout, without submitting anything."""
    try:
        converter = pick_converter(file, converter_name, config_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        conversion = convert_path(converter, file)
    except SkipFile as exc:
        fail(f"{file}: {converter.display_name}: skipped: {exc.reason}")
    except RetryLater as exc:
        fail(f"{file}: {converter.display_name}: not complete yet: {exc.reason}")
    except (WatsConverterError, ValueError, OSError) as exc:
        fail(f"{file}: {converter.display_name}: {type(exc).__name__}: {exc}")
    except Exception as exc:  # a converter's own bug: still one line, never a traceback
        fail(f"{file}: {converter.display_name}: converter crashed: {type(exc).__name__}: {exc}")
    docs = [r.to_dict() for r in conversion.reports]
    output = docs[0] if len(docs) == 1 else docs
    click.echo(json.dumps(output, indent=2 if pretty else None, ensure_ascii=False))


def pick_converter(file: Path, name: str | None, config_path: Path | None) -> ConverterBase:
    """The converter for `file`: by name, else the first whose extensions match."""
    if config_path is not None:
        config = load_config(config_path)
        entries = list(config.converters)
    else:
        config = embedded_config(Path("wats-data"))
        entries = [
            ConverterEntry(name=cls, class_name=cls, watch_folder=Path("."))
            for cls in BUILTIN_CONVERTERS
        ]
    if name is not None:
        entries = [e for e in entries if name in (e.name, e.class_name)]
        if not entries:
            raise ConfigError(f"no converter named {name!r}")
    for entry in entries:
        converter = build_converter(entry, config, f"converter {entry.name!r}")
        if name is not None or converter.matches_file(file):
            return converter
    raise ConfigError(
        f"{file}: no converter handles {file.suffix or 'files without extension'}; "
        "pick one with --converter"
    )


def build_converter(entry: ConverterEntry, config: Config, where: str) -> ConverterBase:
    cls = load_converter_class(entry.class_name, entry.module_path, where)
    station = StationDefaults(
        name=config.station.name,
        location=config.station.location,
        purpose=config.station.purpose,
        operator=config.station.operator,
    )
    return create_converter(cls, entry.settings, ConversionContext(station=station), where)


@main.command("check-config")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The YAML config file to check.",
)
def check_config(config_path: Path) -> None:
    """Validate a config file, load its converters and create its folders."""
    try:
        config = load_config(config_path)
        for i, entry in enumerate(config.converters):
            if entry.enabled:
                build_converter(entry, config, f"{config_path}: converters[{i}]")
        ensure_folders(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    enabled = config.enabled_converters()
    click.echo(f"{config_path}: OK, {len(enabled)} of {len(config.converters)} converters enabled")
    for entry in enabled:
        click.echo(
            f"  {entry.name}: {entry.class_name} priority {entry.priority}, "
            f"watching {entry.watch_folder}, then {entry.post_process_action}"
        )
