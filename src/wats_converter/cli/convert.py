"""`convert FILE`: print a file's WSJF report(s) without submitting anything."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wats_converter.cli.exits import EXIT_USAGE, fail
from wats_converter.config import ConverterEntry, StationConfig, load_config
from wats_converter.converters.api import ConverterBase, RetryLater, SkipFile
from wats_converter.converters.builtin import BUILTIN_CONVERTERS
from wats_converter.converters.loading import (
    build_converter,
    known_converter_names,
    use_converter_paths,
)
from wats_converter.converters.registry import build_slots, builtin_slots, choose
from wats_converter.errors import ConfigError, WatsConverterError
from wats_converter.pipeline.conversion import convert_path


@click.command()
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
        converter, why = pick_converter(file, converter_name, config_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    if config_path is not None or converter.sniffs_content:
        click.echo(f"{file}: converter {converter.display_name}: {why}", err=True)
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


def pick_converter(
    file: Path, name: str | None, config_path: Path | None
) -> tuple[ConverterBase, str]:
    """The converter for `file` and why: by name; else the one the service would give it
    (`registry.choose`: with a config, its enabled converters and their patterns; without,
    every built-in converter, those that recognise the file by content first)."""
    config = load_config(config_path) if config_path is not None else None
    if name is None:
        slots = build_slots(config) if config is not None else builtin_slots()
        choice = choose(slots, file.resolve())
        return choice.slot.converter, choice.reason
    if config is not None:
        use_converter_paths(config.converter_paths)
        entries = list(config.converters)  # a disabled one too, when named
    else:
        entries = [
            ConverterEntry(name=cls, class_name=cls, watch_folder=Path("."))
            for cls in BUILTIN_CONVERTERS
        ]
    named = [e for e in entries if name in (e.name, e.class_name)]
    if not named:
        raise ConfigError(_no_converter_named(name, entries, config_path))
    station = config.station if config is not None else StationConfig()
    converter = build_converter(named[0], station, f"converter {named[0].name!r}")
    return converter, "named with --converter"


def _no_converter_named(name: str, entries: list[ConverterEntry], config: Path | None) -> str:
    if config is not None:
        names = ", ".join(sorted({e.name for e in entries} | {e.class_name for e in entries}))
        return f"{config} has no converter named {name!r}; its converters are {names or 'none'}"
    return (
        f"no converter named {name!r}; without --config the known converters are "
        f"{', '.join(known_converter_names())}. To use a converter of your own, register it in "
        "a config file (`converter_paths: [folder of your module]` and a `converters:` entry "
        "with `module_path` and `class_name`) and run `wats-converter convert FILE --config "
        "CONFIG`, or install it with an entry point in the `wats_converter.converters` group "
        "(see docs/converters/writing-a-converter.md)"
    )
